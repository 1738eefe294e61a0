//! Security features that cut across the product: the tamper-evident audit trail (later:
//! PII redaction and the blocklist).

pub mod audit;
