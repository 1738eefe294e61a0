//! Operations: backup and restore of a data directory (later: diagnostics, service
//! configuration).

pub mod backup;
