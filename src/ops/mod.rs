//! Operations: backup and restore of a data directory, Service Configuration (the limits and
//! retention periods a Company Admin sets) and the retention sweep that applies them, and
//! System Diagnostics (health figures, the recent server log, the diagnostics bundle and the
//! dependency SBOM).

pub mod backup;
pub mod diagnostics;
pub mod retention;
pub mod service_config;
