//! Exclusive XML Canonicalization 1.0 (<https://www.w3.org/TR/xml-exc-c14n/>), with and without
//! comments, with the InclusiveNamespaces PrefixList, over an element subtree of a parsed
//! document, optionally leaving one descendant element out (the enveloped-signature transform).

use std::cmp::Ordering;

use roxmltree::{Attribute, Node, NodeId, NodeType};

use crate::encoding::escape_ascii;
use crate::xml::source_qname;

/// How to canonicalize.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    pub with_comments: bool,
    /// Prefixes treated as in inclusive c14n; `#default` names the default namespace.
    pub inclusive_prefixes: &'a [&'a str],
}

/// The exclusive canonical form of the subtree rooted at `apex`, without the element `exclude`
/// (and its subtree) when given.
pub fn canonicalize<'a>(apex: Node<'a, 'a>, exclude: Option<NodeId>, options: Options<'a>) -> Vec<u8> {
    let mut out = Vec::with_capacity(apex.range().len() + 256);
    let mut writer = Writer {
        out: &mut out,
        rendered: Vec::with_capacity(8),
        wanted: Vec::with_capacity(8),
        attributes: Vec::with_capacity(8),
        exclude,
        options,
    };
    writer.node(apex);
    out
}

/// A namespace declaration rendered on an output ancestor; `None` prefix is the default.
type Rendered<'a> = (Option<&'a str>, &'a str);

struct Writer<'o, 'a> {
    out: &'o mut Vec<u8>,
    /// Stack of declarations rendered by the output ancestors of the current element, then
    /// the current element's own.
    rendered: Vec<Rendered<'a>>,
    /// Scratch for one element at a time: the prefixes it visibly uses, with their namespaces.
    wanted: Vec<Rendered<'a>>,
    /// Scratch for one element at a time: its attributes in canonical order.
    attributes: Vec<Attribute<'a, 'a>>,
    exclude: Option<NodeId>,
    options: Options<'a>,
}

impl<'a> Writer<'_, 'a> {
    fn node(&mut self, node: Node<'a, 'a>) {
        match node.node_type() {
            NodeType::Element => {
                if Some(node.id()) != self.exclude {
                    self.element(node);
                }
            }
            NodeType::Text => escape_text(self.out, node.text().unwrap_or_default()),
            NodeType::Comment => {
                if self.options.with_comments {
                    self.out.extend_from_slice(b"<!--");
                    self.out.extend_from_slice(node.text().unwrap_or_default().as_bytes());
                    self.out.extend_from_slice(b"-->");
                }
            }
            NodeType::PI => {
                if let Some(pi) = node.pi() {
                    self.out.extend_from_slice(b"<?");
                    self.out.extend_from_slice(pi.target.as_bytes());
                    if let Some(value) = pi.value.filter(|v| !v.is_empty()) {
                        self.out.push(b' ');
                        self.out.extend_from_slice(value.as_bytes());
                    }
                    self.out.extend_from_slice(b"?>");
                }
            }
            NodeType::Root => {}
        }
    }

    fn element(&mut self, node: Node<'a, 'a>) {
        let qname = source_qname(node);
        let scope_mark = self.rendered.len();
        self.push_declarations(node, qname);

        self.out.push(b'<');
        self.out.extend_from_slice(qname.as_bytes());
        for (prefix, uri) in self.rendered.get(scope_mark..).unwrap_or_default() {
            match prefix {
                None => self.out.extend_from_slice(b" xmlns=\""),
                Some(p) => {
                    self.out.extend_from_slice(b" xmlns:");
                    self.out.extend_from_slice(p.as_bytes());
                    self.out.extend_from_slice(b"=\"");
                }
            }
            escape_attribute(self.out, uri);
            self.out.push(b'"');
        }

        let input = node.document().input_text();
        self.attributes.clear();
        self.attributes.extend(node.attributes());
        if self.attributes.len() > 1 {
            self.attributes.sort_unstable_by(canonical_order);
        }
        for attribute in &self.attributes {
            self.out.push(b' ');
            let qname = input.get(attribute.range_qname()).unwrap_or(attribute.name());
            self.out.extend_from_slice(qname.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attribute(self.out, attribute.value());
            self.out.push(b'"');
        }
        self.out.push(b'>');

        for child in node.children() {
            self.node(child);
        }

        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(qname.as_bytes());
        self.out.push(b'>');
        self.rendered.truncate(scope_mark);
    }

    /// Pushes onto `rendered` the namespace declarations this element must carry, sorted with
    /// the default first. The prefixes it visibly uses resolve to the namespaces the parser
    /// already gave the element and its attributes; only the PrefixList needs a lookup.
    fn push_declarations(&mut self, node: Node<'a, 'a>, qname: &'a str) {
        self.wanted.clear();
        self.wanted.push((prefix_of(qname), node.tag_name().namespace().unwrap_or("")));
        let input = node.document().input_text();
        for attribute in node.attributes() {
            if let Some(prefix) = input.get(attribute.range_qname()).and_then(prefix_of) {
                self.wanted.push((Some(prefix), attribute.namespace().unwrap_or("")));
            }
        }
        for prefix in self.options.inclusive_prefixes {
            let prefix = if *prefix == "#default" { None } else { Some(*prefix) };
            match in_scope(node, prefix) {
                Some(uri) => self.wanted.push((prefix, uri)),
                None if prefix.is_none() => self.wanted.push((None, "")),
                None => {}
            }
        }
        if self.wanted.len() > 1 {
            self.wanted.sort_unstable_by(|a, b| prefix_order(a.0, b.0));
            self.wanted.dedup_by(|a, b| same_prefix(a.0, b.0));
        }

        let ancestors = self.rendered.len();
        for index in 0..self.wanted.len() {
            let Some(&(prefix, uri)) = self.wanted.get(index) else { break };
            if prefix == Some("xml") || prefix == Some("xmlns") {
                continue;
            }
            let rendered = self.rendered.get(..ancestors).unwrap_or_default();
            let last = rendered.iter().rev().find(|(p, _)| same_prefix(*p, prefix)).map(|(_, u)| *u);
            let render = match prefix {
                // An empty default namespace is declared only to undo a rendered non-empty one.
                None => !same(last.unwrap_or(""), uri),
                Some(_) => !last.is_some_and(|last| same(last, uri)),
            };
            if render {
                self.rendered.push((prefix, uri));
            }
        }
    }
}

/// Attributes in canonical order: by namespace URI (none first), then local name.
fn canonical_order(a: &Attribute, b: &Attribute) -> Ordering {
    let (a_ns, b_ns) = (a.namespace().unwrap_or(""), b.namespace().unwrap_or(""));
    let by_namespace = if same(a_ns, b_ns) { Ordering::Equal } else { a_ns.cmp(b_ns) };
    // Names are short and mostly differ early: a byte loop beats a call to memcmp here.
    by_namespace.then_with(|| a.name().bytes().cmp(b.name().bytes()))
}

/// String equality that first asks whether both are the same stored string, as a namespace
/// URI resolved twice by the parser is.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

/// Declarations in canonical order: the default namespace first, then by prefix.
fn prefix_order(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.bytes().cmp(b.bytes()),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

fn same_prefix(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// The prefix of a qualified name, if it has one.
fn prefix_of(qname: &str) -> Option<&str> {
    let colon = qname.bytes().position(|b| b == b':')?;
    qname.get(..colon)
}

fn in_scope<'a>(node: Node<'a, 'a>, prefix: Option<&str>) -> Option<&'a str> {
    node.namespaces().find(|n| n.name() == prefix).map(|n| n.uri()).filter(|u| !(prefix.is_none() && u.is_empty()))
}

fn escape_text(out: &mut Vec<u8>, text: &str) {
    let replacement = |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    };
    escape_ascii(text, replacement, |piece| out.extend_from_slice(piece.as_bytes()));
}

fn escape_attribute(out: &mut Vec<u8>, text: &str) {
    escape_ascii(text, attribute_escape, |piece| out.extend_from_slice(piece.as_bytes()));
}

/// What an attribute value's byte becomes in canonical form, when it is escaped.
pub(crate) fn attribute_escape(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\t' => Some("&#x9;"),
        b'\n' => Some("&#xA;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{Limits, parse};

    fn c14n(text: &str, with_comments: bool, prefixes: &[&str]) -> String {
        let doc = parse(text, Limits::MESSAGE).unwrap();
        let out = canonicalize(doc.root_element(), None, Options { with_comments, inclusive_prefixes: prefixes });
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sorts_namespaces_then_attributes_by_uri() {
        assert_eq!(
            c14n(r#"<a:e xmlns:b="urn:b" xmlns:a="urn:a" b:y="2" a:x="1" z="0"/>"#, false, &[]),
            r#"<a:e xmlns:a="urn:a" xmlns:b="urn:b" z="0" a:x="1" b:y="2"></a:e>"#
        );
    }

    #[test]
    fn renders_only_visibly_used_namespaces_once() {
        let text = r#"<r xmlns:unused="urn:u" xmlns:p="urn:p"><p:c><p:d xmlns:p="urn:p"/><p:e xmlns:p="urn:other"/></p:c></r>"#;
        assert_eq!(
            c14n(text, false, &[]),
            r#"<r><p:c xmlns:p="urn:p"><p:d></p:d><p:e xmlns:p="urn:other"></p:e></p:c></r>"#
        );
        let doc = parse(text, Limits::MESSAGE).unwrap();
        let child = doc.root_element().first_element_child().unwrap();
        let out = canonicalize(child, None, Options::default());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<p:c xmlns:p="urn:p"><p:d></p:d><p:e xmlns:p="urn:other"></p:e></p:c>"#
        );
    }

    #[test]
    fn undeclares_the_default_namespace_only_when_needed() {
        assert_eq!(
            c14n(r#"<r xmlns="urn:d"><c xmlns=""/></r>"#, false, &[]),
            r#"<r xmlns="urn:d"><c xmlns=""></c></r>"#
        );
        assert_eq!(c14n(r#"<r><c xmlns=""/></r>"#, false, &[]), r#"<r><c></c></r>"#);
    }

    #[test]
    fn escapes_text_and_attributes() {
        assert_eq!(
            c14n("<e a=\"q&quot;&lt;&gt;&#9;&#10;&#13;\">a&amp;b&lt;c&gt;d&#13;\"'</e>", false, &[]),
            "<e a=\"q&quot;&lt;>&#x9;&#xA;&#xD;\">a&amp;b&lt;c&gt;d&#xD;\"'</e>"
        );
        // Literal whitespace in an attribute is normalized to spaces by the parser first.
        assert_eq!(c14n("<e a=\"x\ty\nz\"/>", false, &[]), "<e a=\"x y z\"></e>");
    }

    #[test]
    fn comments_and_processing_instructions() {
        let text = "<e><!-- c --><?pi  data?><?empty?>x<![CDATA[<y>]]></e>";
        assert_eq!(c14n(text, false, &[]), "<e><?pi data?><?empty?>x&lt;y&gt;</e>");
        assert_eq!(c14n(text, true, &[]), "<e><!-- c --><?pi data?><?empty?>x&lt;y&gt;</e>");
    }

    #[test]
    fn inclusive_prefixes_are_rendered_where_in_scope() {
        let text = r#"<r xmlns:xs="urn:xs" xmlns:xsi="urn:xsi"><v xsi:type="xs:string">1</v></r>"#;
        assert_eq!(c14n(text, false, &[]), r#"<r><v xmlns:xsi="urn:xsi" xsi:type="xs:string">1</v></r>"#);
        assert_eq!(
            c14n(text, false, &["xs"]),
            r#"<r xmlns:xs="urn:xs"><v xmlns:xsi="urn:xsi" xsi:type="xs:string">1</v></r>"#
        );
        assert_eq!(c14n(r#"<r xmlns="urn:d"><v/></r>"#, false, &["#default"]), r#"<r xmlns="urn:d"><v></v></r>"#);
    }

    #[test]
    fn leaves_out_the_excluded_subtree() {
        let doc = parse("<r><a>1</a><sig><x/></sig><b>2</b></r>", Limits::MESSAGE).unwrap();
        let sig = doc.descendants().find(|n| n.has_tag_name("sig")).unwrap();
        let out = canonicalize(doc.root_element(), Some(sig.id()), Options::default());
        assert_eq!(String::from_utf8(out).unwrap(), "<r><a>1</a><b>2</b></r>");
    }

    #[test]
    fn xml_namespace_attributes_are_kept_without_declaration() {
        assert_eq!(c14n(r#"<e xml:lang="en" b="1"/>"#, false, &[]), r#"<e b="1" xml:lang="en"></e>"#);
    }
}
