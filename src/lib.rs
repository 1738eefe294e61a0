//! Lantern: a live-debugging and runtime-reachability appliance for sites that cannot use a
//! SaaS, in one binary: HTTPS portal, REST API and agent gateway on one port, an embedded
//! store, and the command line that operates it.
//!
//! Layers: `http` parses, authorises and renders; the domain modules (`iam`, ...) hold the
//! rules and know nothing of HTTP; only `store` knows redb.

pub mod action_cli;
pub mod actions;
pub mod agents;
pub mod apiclient;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod error;
pub mod fuzzing;
pub mod http;
pub mod iam;
pub mod integrations;
pub mod ops;
pub mod reach;
pub mod recent;
pub mod security;
pub mod store;
pub mod systemd;
pub mod tls;
pub mod ui;
pub mod vuln;
