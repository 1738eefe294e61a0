//! The integration tests: the real appliance started in-process (and, in `smoke`, the real
//! binary) spoken to over real TLS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod action_cli;
mod action_pages;
mod actions;
mod agent_client;
mod e2e;
mod support;

mod agents;
mod api_bad_input;
mod api_keys;
mod asvs;
mod audit;
mod authz_matrix;
mod backup;
mod bad_input;
mod crash;
mod diagnostics;
mod entities;
mod first_start;
mod fuzz_corpus;
mod grants;
mod headers;
mod mfa;
mod page_links;
mod pools;
mod probe_demo;
mod profile;
mod reach_demo;
mod reachability;
mod rest_api;
mod sbom;
mod security_settings;
mod service_config;
mod shutdown;
mod sign_in;
mod smoke;
mod sslscan;
mod systemd;
mod tls;
mod tomcat;
mod users;
mod vulndb;
mod watched;
mod webhooks;
