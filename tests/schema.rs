//! The schema: the committed `schema.graphql` is what the code serves, and every type, field,
//! argument, enum value and nullability of the original surface is there unchanged.

use async_graphql::parser::parse_schema;
use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};
use std::collections::BTreeMap;

#[test]
fn the_committed_schema_is_the_served_one() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(
        committed == packet_run::graphql::sdl(),
        "schema.graphql is out of date: run `cargo run -- schema > schema.graphql`"
    );
}

/// type name → (field or value name → rendered signature)
fn surface(doc: &ServiceDocument) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for definition in &doc.definitions {
        let TypeSystemDefinition::Type(t) = definition else {
            continue;
        };
        let t = &t.node;
        let mut members = BTreeMap::new();
        match &t.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    let f = &f.node;
                    let args: Vec<String> = f
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    members.insert(
                        f.name.node.to_string(),
                        format!("({}) {}", args.join(", "), f.ty.node),
                    );
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    members.insert(v.node.value.node.to_string(), String::new());
                }
            }
            TypeKind::Scalar => {}
            other => panic!("unexpected kind {other:?}"),
        }
        out.insert(t.name.node.to_string(), members);
    }
    out
}

#[test]
fn every_type_and_field_of_the_original_surface_is_served_unchanged() {
    let original =
        parse_schema(include_str!("data/reference-api.graphql")).expect("reference parses");
    let ours = parse_schema(packet_run::graphql::sdl()).expect("our SDL parses");
    let (original, ours) = (surface(&original), surface(&ours));
    let mut problems = Vec::new();
    for (type_name, members) in &original {
        let Some(served) = ours.get(type_name) else {
            problems.push(format!("type {type_name} is missing"));
            continue;
        };
        for (member, signature) in members {
            match served.get(member) {
                None => problems.push(format!("{type_name}.{member} is missing")),
                Some(s) if s != signature => problems.push(format!(
                    "{type_name}.{member}: {signature} in the original, {s} here"
                )),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(packet_run::graphql::sdl().contains("tracerouteHops: [TracerouteHop!]! @deprecated"));
}
