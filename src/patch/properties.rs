//! Properties of the appliers over generated documents and patches: whatever the input, they
//! return (an error or a result) without panicking, and the RFC 6902 laws hold.

use super::json_patch::{self, Op, Operation};
use super::pointer::{join, Pointer};
use super::strategic;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Keys from a small alphabet, merge keys among them, so patches and documents meet.
fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "name",
        "containers",
        "env",
        "ports",
        "port",
        "containerPort",
        "mountPath",
        "volumeMounts",
        "$patch",
        "~",
        "x/y",
        "0",
        "-",
    ])
    .prop_map(str::to_owned)
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(vec!["a", "delete", "replace", "x"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn pointer() -> impl Strategy<Value = Pointer> {
    prop::collection::vec(
        prop_oneof![key(), (0usize..4).prop_map(|i| i.to_string())],
        0..4,
    )
    .prop_map(|tokens| Pointer {
        text: join(&tokens),
        tokens,
    })
}

fn operation() -> impl Strategy<Value = Operation> {
    (
        prop::sample::select(Op::ALL.iter().map(|(_, op)| *op).collect::<Vec<_>>()),
        pointer(),
        pointer(),
        value(),
    )
        .prop_map(|(op, path, from, value)| Operation {
            op,
            path,
            from: Some(from),
            value: Some(value),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn strategic_merge_never_panics(mut doc in value(), patch in value()) {
        let mut marks = Vec::new();
        let _ = strategic::apply(&mut doc, &patch, "/merge", &mut marks);
        // Every mark names a node in the patch body.
        prop_assert!(marks.iter().all(|m| m.source.starts_with("/merge")));
    }

    #[test]
    fn json_patch_never_panics(mut doc in value(), ops in prop::collection::vec(operation(), 0..5)) {
        let mut marks = Vec::new();
        let _ = json_patch::apply(&mut doc, &ops, "/jsonPatch", &mut marks);
    }

    #[test]
    fn replace_then_test_holds_and_add_then_remove_restores(doc in value(), path in pointer(), v in value()) {
        let op = |op, value: Option<&Value>| Operation {
            op,
            path: path.clone(),
            from: None,
            value: value.cloned(),
        };
        let mut marks = Vec::new();
        let mut replaced = doc.clone();
        if json_patch::apply(&mut replaced, &[op(Op::Replace, Some(&v))], "", &mut marks).is_ok() {
            prop_assert!(json_patch::apply(&mut replaced, &[op(Op::Test, Some(&v))], "", &mut marks).is_ok());
        }
        // Adding a key a mapping does not hold, then removing it, gives the document back.
        let absent = path
            .split_last()
            .is_some_and(|(parent, last)| {
                doc.pointer(&join(parent)).and_then(Value::as_object).is_some_and(|m| !m.contains_key(last))
            });
        if absent {
            let mut added = doc.clone();
            json_patch::apply(&mut added, &[op(Op::Add, Some(&v)), op(Op::Remove, None)], "", &mut marks).unwrap();
            prop_assert_eq!(added, doc);
        }
    }
}
