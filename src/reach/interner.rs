//! The name interner: every distinct class or module name stored once, referred to by a dense
//! `u32` id that never changes and is never reused.
//!
//! No allocation per name: the bytes live in fixed-size arena chunks (a chunk is never
//! reallocated, so a name's place is stable and memory grows by one chunk at a time, not by
//! doubling), each name is an 8-byte span, and the lookup table holds only the 4-byte ids,
//! hashed from the bytes with a per-process-seeded foldhash (agents choose the names, so the
//! seed keeps them from steering collisions). Memory per distinct name is therefore its bytes
//! plus about 14 bytes; [`Interner::memory_bytes`] accounts for it.

use std::hash::BuildHasher;

use hashbrown::HashTable;

/// Bytes per arena chunk. Names never straddle chunks, so at most one name's length is
/// wasted at the end of each.
const CHUNK_BYTES: usize = 1 << 20;
/// Longest name the interner keeps (the protocol's own limit is 1 KiB).
pub const MAX_NAME_BYTES: usize = 64 * 1024;
/// Most bytes of names in all: offsets are `u32`, and an agent fleet that sent this much
/// distinct text is sending garbage. Beyond it, new names are refused.
pub const MAX_TOTAL_BYTES: usize = 1 << 31;

/// Where one name's bytes are: chunk `start / CHUNK_BYTES`, offset `start % CHUNK_BYTES`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// Interned names (see the module documentation).
#[derive(Debug, Default)]
pub struct Interner {
    chunks: Vec<String>,
    spans: Vec<Span>,
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    name_bytes: usize,
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Interner {
        Interner::default()
    }

    fn hash(&self, name: &str) -> u64 {
        self.hasher.hash_one(name)
    }

    /// The id of `name`, if it was interned.
    pub fn get(&self, name: &str) -> Option<u32> {
        let hash = self.hash(name);
        self.table
            .find(hash, |id| self.name(*id) == Some(name))
            .copied()
    }

    /// The id of `name`, interning it first if needed; `None` when the name is longer than
    /// [`MAX_NAME_BYTES`] or the interner is full.
    pub fn intern(&mut self, name: &str) -> Option<u32> {
        let hash = self.hash(name);
        if let Some(id) = self
            .table
            .find(hash, |id| span_eq(&self.chunks, &self.spans, *id, name))
        {
            return Some(*id);
        }
        if name.len() > MAX_NAME_BYTES
            || self.name_bytes.saturating_add(name.len()) > MAX_TOTAL_BYTES
        {
            return None;
        }
        let id = u32::try_from(self.spans.len()).ok()?;
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= name.len());
        if !fits {
            self.chunks.push(String::with_capacity(CHUNK_BYTES));
        }
        let chunk_no = self.chunks.len().saturating_sub(1);
        let chunk = self.chunks.last_mut()?;
        let start = chunk_no
            .saturating_mul(CHUNK_BYTES)
            .saturating_add(chunk.len());
        chunk.push_str(name);
        self.spans.push(Span {
            start: u32::try_from(start).ok()?,
            len: u32::try_from(name.len()).ok()?,
        });
        self.name_bytes = self.name_bytes.saturating_add(name.len());
        let (chunks, spans, hasher) = (&self.chunks, &self.spans, &self.hasher);
        self.table.insert_unique(hash, id, |other| {
            hasher.hash_one(span_str(chunks, spans, *other).unwrap_or(""))
        });
        Some(id)
    }

    /// The name of `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        span_str(&self.chunks, &self.spans, id)
    }

    /// How many distinct names are interned.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether no name is interned.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The bytes of the distinct names themselves (what a perfect store would need).
    pub fn name_bytes(&self) -> usize {
        self.name_bytes
    }

    /// The heap bytes the interner holds: arena chunks, spans and the table (ids plus
    /// hashbrown's one control byte per bucket), by capacity.
    pub fn memory_bytes(&self) -> usize {
        let arena: usize = self.chunks.iter().map(String::capacity).sum();
        let spans = self.spans.capacity() * std::mem::size_of::<Span>();
        // hashbrown allocates buckets as a power of two ≥ capacity·8/7, plus a group of
        // trailing control bytes.
        let buckets = if self.table.capacity() == 0 {
            0
        } else {
            (self.table.capacity() * 8 / 7).next_power_of_two()
        };
        let table = buckets * (std::mem::size_of::<u32>() + 1) + 16;
        arena + spans + table + self.chunks.capacity() * std::mem::size_of::<String>()
    }
}

fn span_str<'a>(chunks: &'a [String], spans: &[Span], id: u32) -> Option<&'a str> {
    let span = spans.get(id as usize)?;
    let start = span.start as usize;
    let chunk = chunks.get(start / CHUNK_BYTES)?;
    let from = start % CHUNK_BYTES;
    chunk.get(from..from.checked_add(span.len as usize)?)
}

fn span_eq(chunks: &[String], spans: &[Span], id: u32, name: &str) -> bool {
    span_str(chunks, spans, id) == Some(name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_dense() {
        let mut i = Interner::new();
        let a = i.intern("org.a.A").unwrap();
        let b = i.intern("org.b.B").unwrap();
        assert_eq!((a, b), (0, 1));
        assert_eq!(i.intern("org.a.A"), Some(a));
        assert_eq!(i.get("org.b.B"), Some(b));
        assert_eq!(i.get("org.c.C"), None);
        assert_eq!(i.name(a), Some("org.a.A"));
        assert_eq!(i.name(7), None);
        assert_eq!((i.len(), i.name_bytes()), (2, 14));
        assert_eq!(
            i.intern(""),
            Some(2),
            "the empty name is a name like any other"
        );
        assert_eq!(i.intern(&"x".repeat(MAX_NAME_BYTES + 1)), None);
    }

    #[test]
    fn names_survive_chunk_boundaries_and_table_growth() {
        let mut i = Interner::new();
        let names: Vec<String> = (0..60_000)
            .map(|n| format!("com.example.pkg{}.Class{n}", n % 31))
            .collect();
        let ids: Vec<u32> = names.iter().map(|n| i.intern(n).unwrap()).collect();
        assert!(i.chunks.len() > 1, "the test crosses a chunk boundary");
        for (n, id) in names.iter().zip(&ids) {
            assert_eq!(i.get(n), Some(*id));
            assert_eq!(i.name(*id), Some(n.as_str()));
        }
        // Accounting: the names' bytes plus a bounded overhead.
        let ratio = i.memory_bytes() as f64 / i.name_bytes() as f64;
        assert!(ratio < 2.0, "{ratio}");
    }
}
