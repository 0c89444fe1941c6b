//! The accessibility tree as the model reads it: Chromium's AX nodes joined with our `bid` attributes and
//! flattened to text the way BrowserGym's `flatten_axtree_to_str(with_clickable=True, skip_generic=False)`
//! does, e.g. `\t[12] button 'Submit', clickable, focused`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

/// Roles left out: BrowserGym's, plus the text runs that recent Chromium reports below every StaticText
/// (they repeat its text word for word).
const IGNORED_ROLES: &[&str] = &["LineBreak", "InlineTextBox"];
/// Properties BrowserGym leaves out of the text.
const IGNORED_PROPERTIES: &[&str] = &[
    "editable",
    "readonly",
    "level",
    "settable",
    "multiline",
    "invalid",
    "focusable",
];

/// What BrowserGym's `extra_element_properties` holds for one bid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ElementProps {
    pub visibility: f64,
    /// `[x, y, width, height]` in viewport pixels.
    pub bbox: [f64; 4],
    pub clickable: bool,
}

impl ElementProps {
    pub fn to_value(&self) -> Value {
        json!({
            "visibility": self.visibility,
            "bbox": self.bbox,
            "clickable": self.clickable,
            "set_of_marks": self.clickable && self.visibility >= 0.5,
        })
    }
}

/// The `bid` attribute and clickability of every DOM node, by backend node id, from a
/// `DOMSnapshot.captureSnapshot` answer.
#[derive(Debug, Default)]
pub(crate) struct DomIndex {
    pub bids: HashMap<i64, String>,
    pub clickable: HashSet<String>,
}

impl DomIndex {
    pub fn from_snapshot(snapshot: &Value) -> Self {
        let strings: Vec<&str> = snapshot["strings"]
            .as_array()
            .map(|a| a.iter().map(|s| s.as_str().unwrap_or_default()).collect())
            .unwrap_or_default();
        let string = |i: &Value| {
            i.as_u64()
                .and_then(|i| strings.get(i as usize))
                .copied()
                .unwrap_or_default()
        };
        let mut index = Self::default();
        for doc in snapshot["documents"].as_array().into_iter().flatten() {
            let nodes = &doc["nodes"];
            let backend: Vec<i64> = nodes["backendNodeId"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(-1)).collect())
                .unwrap_or_default();
            let attributes = nodes["attributes"].as_array();
            for (i, attrs) in attributes.into_iter().flatten().enumerate() {
                let pairs = attrs.as_array().map(Vec::as_slice).unwrap_or_default();
                if let Some(bid) = pairs
                    .chunks(2)
                    .find(|p| p.len() == 2 && string(&p[0]) == "bid")
                    .map(|p| string(&p[1]).to_owned())
                    && let Some(&id) = backend.get(i)
                {
                    index.bids.insert(id, bid);
                }
            }
            for i in nodes["isClickable"]["index"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(bid) = i
                    .as_u64()
                    .and_then(|i| backend.get(i as usize))
                    .and_then(|id| index.bids.get(id))
                {
                    index.clickable.insert(bid.clone());
                }
            }
        }
        index
    }
}

/// Adds BrowserGym's `browsergym_id` to the AX nodes that belong to an element with a bid.
pub(crate) fn tag_nodes(nodes: &mut [Value], dom: &DomIndex) {
    for node in nodes {
        let bid = node["backendDOMNodeId"]
            .as_i64()
            .and_then(|id| dom.bids.get(&id));
        if let (Some(bid), Some(obj)) = (bid, node.as_object_mut()) {
            obj.insert("browsergym_id".into(), bid.clone().into());
        }
    }
}

/// Flattens tagged AX nodes (the first is the root) to BrowserGym's text.
pub(crate) fn flatten(nodes: &[Value], props: &HashMap<String, ElementProps>) -> String {
    let by_id: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n["nodeId"].as_str().map(|id| (id, i)))
        .collect();
    let mut out = String::new();
    if !nodes.is_empty() {
        Flattener {
            nodes,
            by_id,
            props,
        }
        .visit(0, 0, "", &mut out);
    }
    out
}

struct Flattener<'a> {
    nodes: &'a [Value],
    by_id: HashMap<&'a str, usize>,
    props: &'a HashMap<String, ElementProps>,
}

impl Flattener<'_> {
    /// Appends the node's line and its children's, joined by newlines (BrowserGym's `dfs`).
    fn visit(&self, index: usize, depth: usize, parent_name: &str, out: &mut String) {
        let node = &self.nodes[index];
        let role = node["role"]["value"].as_str().unwrap_or_default();
        let name = node
            .get("name")
            .map(|n| py_str(&n["value"]))
            .unwrap_or_default();
        let mut skip = IGNORED_ROLES.contains(&role) || node.get("name").is_none();
        if !skip {
            let mut attributes: Vec<String> = Vec::new();
            for prop in node["properties"].as_array().into_iter().flatten() {
                let Some(value) = prop.get("value").and_then(|v| v.get("value")) else {
                    continue;
                };
                let prop_name = prop["name"].as_str().unwrap_or_default();
                if IGNORED_PROPERTIES.contains(&prop_name) {
                    continue;
                }
                if matches!(prop_name, "required" | "focused" | "atomic") {
                    if truthy(value) {
                        attributes.push(prop_name.to_owned());
                    }
                } else {
                    attributes.push(format!("{prop_name}={}", py_value(value)));
                }
            }
            let bid = node["browsergym_id"].as_str();
            if role == "StaticText" {
                skip = parent_name.contains(name.as_str());
            } else if bid
                .and_then(|b| self.props.get(b))
                .is_some_and(|p| p.clickable)
            {
                attributes.insert(0, "clickable".to_owned());
            }
            if !skip {
                let mut line = "\t".repeat(depth);
                if let Some(bid) = bid {
                    line.push_str(&format!("[{bid}] "));
                }
                if role == "generic" && name.is_empty() {
                    line.push_str(role);
                } else {
                    line.push_str(&format!("{role} {}", py_repr(name.trim())));
                }
                if let Some(value) = node.get("value").and_then(|v| v.get("value")) {
                    line.push_str(&format!(" value={}", py_value(value)));
                }
                for a in &attributes {
                    line.push_str(", ");
                    line.push_str(a);
                }
                out.push_str(&line);
            }
        }
        let own_id = node["nodeId"].as_str();
        for child in node["childIds"].as_array().into_iter().flatten() {
            let Some(child) = child.as_str() else {
                continue;
            };
            let Some(&i) = self.by_id.get(child) else {
                continue;
            };
            if Some(child) == own_id {
                continue;
            }
            let mut sub = String::new();
            self.visit(i, if skip { depth } else { depth + 1 }, &name, &mut sub);
            if !sub.is_empty() {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&sub);
            }
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Python's `repr` of a JSON value as `json.loads` would have built it.
fn py_value(v: &Value) -> String {
    match v {
        Value::String(s) => py_repr(s),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(x)) if x.fract() == 0.0 && x.abs() < 1e16 => format!("{x:.1}"),
            _ => n.to_string(),
        },
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(py_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => py_dict(o),
    }
}

fn py_dict(o: &Map<String, Value>) -> String {
    let items: Vec<String> = o
        .iter()
        .map(|(k, v)| format!("{}: {}", py_repr(k), py_value(v)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Python's `repr(str)`: single quotes unless the text has one and no double quote; escapes for
/// backslashes, the quote, and characters Python does not print.
pub(crate) fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !printable(c) => {
                let n = c as u32;
                if n < 0x100 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for the characters that show up in web pages.
fn printable(c: char) -> bool {
    !(c.is_control()
        || c == '\u{a0}'
        || c == '\u{ad}'
        || ('\u{2000}'..='\u{200f}').contains(&c)
        || ('\u{2028}'..='\u{202f}').contains(&c)
        || ('\u{205f}'..='\u{2064}').contains(&c)
        || c == '\u{3000}'
        || c == '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, role: &str, name: Option<&str>, children: &[&str], extra: Value) -> Value {
        let mut n =
            json!({"nodeId": id, "role": {"type": "role", "value": role}, "childIds": children});
        if let Some(name) = name {
            n["name"] = json!({"type": "computedString", "value": name});
        }
        if let (Some(obj), Value::Object(extra)) = (n.as_object_mut(), extra) {
            obj.extend(extra);
        }
        n
    }

    #[test]
    fn flattens_like_browsergym() {
        let nodes = vec![
            node(
                "1",
                "RootWebArea",
                Some("Form"),
                &["2", "9"],
                json!({
                "properties": [{"name": "focusable", "value": {"type": "booleanOrUndefined", "value": true}},
                               {"name": "focused", "value": {"type": "booleanOrUndefined", "value": true}}]}),
            ),
            node(
                "2",
                "generic",
                None,
                &["3", "5", "7", "8"],
                json!({"ignored": true}),
            ),
            node(
                "3",
                "heading",
                Some("Sign in"),
                &["4"],
                json!({"browsergym_id": "6",
                "properties": [{"name": "level", "value": {"type": "integer", "value": 1}}]}),
            ),
            node("4", "StaticText", Some("Sign in"), &[], json!({})),
            node(
                "5",
                "textbox",
                Some("Name"),
                &["6"],
                json!({"browsergym_id": "9",
                "value": {"type": "string", "value": "it's \"me\""},
                "properties": [{"name": "required", "value": {"type": "boolean", "value": true}},
                               {"name": "expanded", "value": {"type": "booleanOrUndefined", "value": false}}]}),
            ),
            node("6", "generic", Some(""), &[], json!({})),
            node("7", "LineBreak", Some("\n"), &[], json!({})),
            node(
                "8",
                "button",
                Some("Go\u{a0}on"),
                &[],
                json!({"browsergym_id": "11",
                "properties": [{"name": "checked", "value": {"type": "tristate", "value": "false"}}]}),
            ),
            node("9", "StaticText", Some("Tab\there"), &[], json!({})),
        ];
        let props = HashMap::from([(
            "11".to_owned(),
            ElementProps {
                visibility: 1.0,
                bbox: [0.0; 4],
                clickable: true,
            },
        )]);
        expect_test::expect![[r#"
            RootWebArea 'Form', focused
            	[6] heading 'Sign in'
            	[9] textbox 'Name' value='it\'s "me"', required, expanded=False
            		generic
            	[11] button 'Go\xa0on', clickable, checked='false'
            	StaticText 'Tab\there'"#]]
        .assert_eq(&flatten(&nodes, &props));
    }

    #[test]
    fn reads_bids_and_clickability_from_a_dom_snapshot() {
        let snapshot = json!({
            "strings": ["bid", "7", "class", "x", "8"],
            "documents": [{"nodes": {
                "backendNodeId": [10, 11, 12],
                "attributes": [[], [2, 3, 0, 1], [0, 4]],
                "isClickable": {"index": [2]}
            }}]
        });
        let index = DomIndex::from_snapshot(&snapshot);
        assert_eq!(
            index.bids,
            HashMap::from([(11, "7".to_owned()), (12, "8".to_owned())])
        );
        assert_eq!(index.clickable, HashSet::from(["8".to_owned()]));
    }
}
