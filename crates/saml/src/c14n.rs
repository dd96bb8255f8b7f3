//! Exclusive XML Canonicalization 1.0 (<https://www.w3.org/TR/xml-exc-c14n/>), with and without
//! comments, with the InclusiveNamespaces PrefixList, over an element subtree of a parsed
//! document, optionally leaving one descendant element out (the enveloped-signature transform).

use roxmltree::{Node, NodeId, NodeType};

use crate::xml::{element_prefix, source_qname};

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
    let mut writer = Writer { out: &mut out, rendered: Vec::new(), exclude, options };
    writer.node(apex);
    out
}

/// A namespace declaration rendered on an output ancestor; `None` prefix is the default.
type Rendered<'a> = (Option<&'a str>, &'a str);

struct Writer<'o, 'a> {
    out: &'o mut Vec<u8>,
    /// Stack of declarations rendered by the output ancestors of the current element.
    rendered: Vec<Rendered<'a>>,
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
        let declarations = self.declarations(node);

        self.out.push(b'<');
        self.out.extend_from_slice(qname.as_bytes());
        for (prefix, uri) in &declarations {
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
        self.rendered.extend(declarations);

        let input = node.document().input_text();
        let mut attributes: Vec<_> = node.attributes().collect();
        attributes
            .sort_by(|a, b| (a.namespace().unwrap_or(""), a.name()).cmp(&(b.namespace().unwrap_or(""), b.name())));
        for attribute in attributes {
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

    /// The namespace declarations this element must carry, sorted with the default first.
    fn declarations(&self, node: Node<'a, 'a>) -> Vec<Rendered<'a>> {
        let mut wanted: Vec<Option<&'a str>> = Vec::with_capacity(4);
        wanted.push(element_prefix(node));
        let input = node.document().input_text();
        for attribute in node.attributes() {
            if let Some((prefix, _)) = input.get(attribute.range_qname()).and_then(|q| q.split_once(':')) {
                wanted.push(Some(prefix));
            }
        }
        for prefix in self.options.inclusive_prefixes {
            let prefix = if *prefix == "#default" { None } else { Some(*prefix) };
            if self.in_scope(node, prefix).is_some() || prefix.is_none() {
                wanted.push(prefix);
            }
        }
        wanted.sort();
        wanted.dedup();

        let mut out = Vec::with_capacity(wanted.len());
        for prefix in wanted {
            if prefix == Some("xml") || prefix == Some("xmlns") {
                continue;
            }
            let uri = self.in_scope(node, prefix).unwrap_or("");
            let last = self.rendered.iter().rev().find(|(p, _)| *p == prefix).map(|(_, u)| *u);
            let render = match prefix {
                // An empty default namespace is declared only to undo a rendered non-empty one.
                None => last.unwrap_or("") != uri,
                Some(_) => last != Some(uri),
            };
            if render {
                out.push((prefix, uri));
            }
        }
        out
    }

    fn in_scope(&self, node: Node<'a, 'a>, prefix: Option<&str>) -> Option<&'a str> {
        node.namespaces().find(|n| n.name() == prefix).map(|n| n.uri()).filter(|u| !(prefix.is_none() && u.is_empty()))
    }
}

fn escape_text(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}

fn escape_attribute(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            _ => out.push(b),
        }
    }
}
