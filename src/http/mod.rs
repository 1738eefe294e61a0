//! HTTP: the TLS accept loop, the router (one `Endpoint` enum), the request pipeline with
//! authorisation and CSRF checks, and the handlers that render portal pages. Handlers parse,
//! authorise, call the domain and render; the rules live in the domain modules.

pub mod actions;
pub mod admin;
pub mod agent_upgrade;
pub mod api;
pub mod api_agents;
pub mod api_iam;
pub mod api_keys;
pub mod api_users;
pub mod audit_events;
pub mod auth;
pub mod data_explorer;
pub mod diagnostics;
pub mod entities;
pub mod form;
pub mod grants;
pub mod groups;
pub mod handler;
pub mod mfa;
pub mod pools;
pub mod portal;
pub mod reachability;
pub mod respond;
pub mod router;
pub mod sbom;
pub mod security_settings;
pub mod server;
pub mod service_config;
pub mod users;
pub mod vulndb;
pub mod watched;
pub mod webhooks;
