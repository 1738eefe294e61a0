//! Operations: backup and restore of a data directory, Service Configuration (the limits and
//! retention periods a Company Admin sets) and the retention sweep that applies them (later:
//! diagnostics).

pub mod backup;
pub mod retention;
pub mod service_config;
