//! Security features that cut across the product: the tamper-evident audit trail, PII
//! redaction (the rules in [`redaction`]), the blocklist ([`blocklist`]), and what the store
//! keeps of both ([`policy`]).

pub mod audit;
pub mod blocklist;
pub mod policy;
pub mod redaction;
