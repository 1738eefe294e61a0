//! Live debugging actions: snapshots, dynamic logs and metrics placed into running code. This
//! module holds the rules, never HTTP or the store's tables:
//!
//! - [`expr`]: conditions, watches, log placeholders and metric values, parsed into the tree
//!   the agents evaluate (agents/PROTOCOL.md, "Expressions");
//! - [`model`]: what an action is, and the rules, defaults and caps that make a request one;
//! - [`records`]: the actions, snapshots and log lines in the store;
//! - [`live`]: which connected agents run which action, their statuses, and their results.

pub mod explore;
pub mod expr;
pub mod live;
pub mod model;
pub mod records;
