//! Key-order checks: JSON parsed with its object keys in document order (serde_json's `Value`
//! sorts them), and the fixtures of api/tests/fixtures/compat written from
//! docs/legacy-services.md "The analyzer's endpoints".

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

/// JSON that keeps object keys in document order (serde_json's `Value` sorts them).
#[derive(Debug)]
pub enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar,
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;
    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
        Ok(Ordered::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
        Ok(Ordered::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
        Ok(Ordered::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Scalar)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut elements = Vec::new();
        while let Some(element) = seq.next_element()? {
            elements.push(element);
        }
        Ok(Ordered::Array(elements))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Ordered>()? {
            entries.push(entry);
        }
        Ok(Ordered::Object(entries))
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

impl Ordered {
    pub fn parse(text: &str) -> Ordered {
        serde_json::from_str(text).unwrap()
    }

    /// The keys, in order, of the object at `path` (array steps are indexes).
    pub fn keys(&self, path: &[&str]) -> Vec<String> {
        let mut node = self;
        for step in path {
            node = match node {
                Ordered::Object(entries) => &entries.iter().find(|(key, _)| key == step).unwrap().1,
                Ordered::Array(elements) => &elements[step.parse::<usize>().unwrap()],
                Ordered::Scalar => panic!("no {step} in a scalar"),
            };
        }
        match node {
            Ordered::Object(entries) => entries.iter().map(|(key, _)| key.clone()).collect(),
            other => panic!("not an object at {path:?}: {other:?}"),
        }
    }
}

pub fn fixture(name: &str) -> Ordered {
    let path = format!(
        "{}/tests/fixtures/compat/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Ordered::parse(&std::fs::read_to_string(path).unwrap())
}

/// Asserts that `actual` starts with exactly the fixture's keys, in the fixture's order.
pub fn assert_keys_start_with(actual: &[String], expected: &[String], what: &str) {
    assert!(
        actual.len() >= expected.len(),
        "{what}: {actual:?} vs {expected:?}"
    );
    assert_eq!(actual[..expected.len()], expected[..], "{what}");
}
