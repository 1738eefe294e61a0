//! The portal's presentation layer: server-rendered Maud pages, the frame around them, the
//! navigation table and the embedded static assets. Nothing here does I/O or knows about
//! HTTP, the store or permissions: handlers gather the data, decide what the user may see
//! and pass plain values in; these modules turn them into HTML.

pub mod assets;
pub mod components;
pub mod layout;
pub mod nav;
pub mod pages;

#[cfg(test)]
pub(crate) mod test_support;
