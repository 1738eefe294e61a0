//! Live debugging actions: snapshots, dynamic logs and metrics placed into running code. This
//! module holds the rules, never HTTP or the store's tables:
//!
//! - [`expr`]: conditions, watches, log placeholders and metric values, parsed into the tree
//!   the agents evaluate (agents/PROTOCOL.md, "Expressions").

pub mod expr;
