//! Agents: the websocket gateway they connect to, the protocol they speak, the live registry
//! of who is connected, their history in the store, tags and custom sources. Nothing here
//! knows about HTTP pages; the gateway takes an upgraded connection from `http`.

pub mod downloads;
pub mod gateway;
pub mod history;
pub mod protocol;
pub mod registry;
