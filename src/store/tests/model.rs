//! Random sequences of puts, deletes, failing writes, scans and reopens, checked against a
//! `BTreeMap` model after every step and after a final reopen.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::super::{Store, StoreError};
use super::{THINGS, all_rows, dir, open};

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

#[derive(Debug, Clone)]
enum Step {
    /// Ops applied in one write closure.
    Write(Vec<Op>),
    /// Ops applied, then the closure fails: none of them may stick.
    FailingWrite(Vec<Op>),
    Reopen,
    Scan(Vec<u8>, usize),
}

/// A small key space (including the empty key) so puts overwrite and deletes hit.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0u8..4, 0..3)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (key(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(k, v)| Op::Put(k, v)),
        1 => key().prop_map(Op::Delete),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => prop::collection::vec(op(), 1..6).prop_map(Step::Write),
        1 => prop::collection::vec(op(), 1..4).prop_map(Step::FailingWrite),
        1 => Just(Step::Reopen),
        2 => (key(), 0usize..5).prop_map(|(p, l)| Step::Scan(p, l)),
    ]
}

/// Applies `ops` in the store inside one closure; answers what each delete found.
fn apply(store: &Store, ops: &[Op], fail: bool) -> Result<Vec<bool>, StoreError> {
    let ops = ops.to_vec();
    store.write_blocking(move |tx| {
        let mut found = Vec::new();
        for op in &ops {
            match op {
                Op::Put(k, v) => tx.put(&THINGS, k, v)?,
                Op::Delete(k) => found.push(tx.delete(&THINGS, k)?),
            }
        }
        if fail {
            return Err(StoreError::Conflict("planned failure".into()));
        }
        Ok(found)
    })
}

fn model_rows(model: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    model.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_store_behaves_like_a_btreemap(steps in prop::collection::vec(step(), 1..14)) {
        let dir = dir();
        let path = dir.path().join("store.redb");
        let mut store = open(&path);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for step in steps {
            match step {
                Step::Write(ops) => {
                    let found = apply(&store, &ops, false).unwrap();
                    let mut expected = Vec::new();
                    for op in ops {
                        match op {
                            Op::Put(k, v) => { model.insert(k, v); }
                            Op::Delete(k) => expected.push(model.remove(&k).is_some()),
                        }
                    }
                    prop_assert_eq!(found, expected);
                }
                Step::FailingWrite(ops) => {
                    let result = apply(&store, &ops, true);
                    prop_assert!(matches!(result, Err(StoreError::Conflict(_))));
                }
                Step::Reopen => {
                    store.close().unwrap();
                    store = open(&path);
                }
                Step::Scan(prefix, limit) => {
                    let p = prefix.clone();
                    let got = store
                        .read_blocking(move |tx| tx.scan_prefix(&THINGS, &p, limit))
                        .unwrap();
                    let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                        .range(prefix.clone()..)
                        .take_while(|(k, _)| k.starts_with(&prefix))
                        .take(limit)
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    prop_assert_eq!(got, expected);
                }
            }
            prop_assert_eq!(all_rows(&store, THINGS), model_rows(&model));
            let len = store.read_blocking(|tx| tx.len(&THINGS)).unwrap();
            prop_assert_eq!(len, model.len() as u64);
        }
        store.close().unwrap();
        let store = open(&path);
        prop_assert_eq!(all_rows(&store, THINGS), model_rows(&model));
    }
}
