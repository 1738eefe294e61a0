//! Outbound integrations: what the appliance tells other systems. So far webhooks
//! ([`webhooks`] holds the model, validation, signing and storage; [`delivery`] the bounded
//! queue, the worker and the HTTPS client; [`watched`] the Watched Packages' storage and the
//! events package and class loads fire). Nothing here knows about the portal or the API:
//! `http::webhooks` calls in, and other domain modules call [`delivery::Dispatcher::fire`].

pub mod delivery;
pub mod watched;
pub mod webhooks;
