//! Runtime reachability: the in-memory index of what code the agents' processes really
//! loaded, by connection and by package, fed on the hot path by `class_loads` frames and read
//! by the pages and the API. Pure: no I/O, no tokio, no locks — the caller (the agent
//! registry) chooses how to share it, and the store keeps what [`durable`] hands out.
//!
//! - [`interner`]: every distinct class or module name once, by id, without an allocation
//!   per name;
//! - [`purl`]: the package identity of an artifact;
//! - [`index`]: live connections, shared class lists, packages, the queries;
//! - [`durable`]: what a restart must not lose, as byte records, and the rebuild;
//! - [`assess`]: the Runtime Reachability Assessment: rows joined with advisories, filtered
//!   and ranked;
//! - [`watch`]: Watched Packages: entries, version rules, the CSV format, their status.
//! - [`sbom`]: the Runtime SBOM (CycloneDX 1.6, SPDX 2.3, CSV) of what the agents loaded.

pub mod assess;
pub mod durable;
pub mod index;
pub mod interner;
pub mod purl;
pub mod sbom;
pub mod watch;

#[cfg(test)]
mod tests;

pub use durable::{DirtyBatch, PackageRecord, RestoreError};
pub use index::{
    AgentCounts, AgentInfo, ArtifactView, Index, IndexStats, IngestError, LoadRef,
    MAX_ARTIFACTS_PER_AGENT, MAX_CLASSES_PER_AGENT, PackageAgent, PackageDetail, PackageRow,
    PackageStatus, Prepared, Seen, Session,
};
pub use interner::Interner;
pub use purl::PackageId;
