//! The portal's pages, one module per area. Each function takes the frame context and plain
//! view data and returns the whole document.

pub mod actions;
pub mod agents;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod custom_sources;
pub mod data_explorer;
pub mod diagnostics;
pub mod error;
pub mod getting_started;
pub mod grants;
pub mod groups;
pub mod mfa;
pub mod package_enrichment;
pub mod planned;
pub mod pools;
pub mod profile;
pub mod reachability;
pub mod sbom;
pub mod security;
pub mod service_config;
pub mod tags;
pub mod users;
pub mod watched;
pub mod webhooks;
