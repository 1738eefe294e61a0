//! Agents: the websocket gateway they connect to, the protocol they speak, the live registry
//! of who is connected, their history in the store, and what the Entities pages build on
//! them: the merged agent view with its filters, tags, and custom sources. Nothing here
//! knows about HTTP pages; the gateway takes an upgraded connection from `http`.

pub mod config_push;
pub mod connected;
pub mod downloads;
pub mod gateway;
pub mod glob;
pub mod history;
pub mod ingest;
pub mod metered;
pub mod protocol;
pub mod reach_store;
pub mod registry;
pub mod sources;
pub mod tags;
pub mod view;
