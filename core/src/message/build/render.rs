//! The MIME tree of a built message and its bytes: leaves held in memory
//! are written by mail-builder (which picks 7bit, quoted-printable or
//! base64); file leaves become [`Segment::Base64File`] for the driver's
//! streaming encoder; multiparts get boundaries from the caller's random
//! source that no leaf contains.

use std::path::Path;

use bytes::Bytes;
use mail_builder::headers::content_type::ContentType;
use mail_builder::mime::{BodyPart, MimePart};

use super::fields::{MimeType, write_content_type};
use super::{BuildError, Segment};
use crate::random::RandomSource;

/// What a leaf holds.
pub(super) enum LeafBody<'a> {
    /// Text (line ends already CRLF), written with `charset` in its type.
    Text(String),
    /// Bytes in memory.
    Bytes(&'a Bytes),
    /// Bytes made here (text under a type that is not `text/*`).
    Owned(Bytes),
    /// A file to stream as base64.
    File(&'a Path),
}

/// A leaf part before rendering.
pub(super) struct Leaf<'a> {
    pub(super) mime: MimeType,
    pub(super) filename: Option<&'a str>,
    /// `attachment` or `inline`, with `filename`.
    pub(super) disposition: Option<&'static str>,
    pub(super) content_id: Option<&'a str>,
    pub(super) body: LeafBody<'a>,
}

/// A node of the MIME tree.
pub(super) enum Node<'a> {
    /// One part.
    Leaf(Leaf<'a>),
    /// `multipart/<subtype>` around its children.
    Multi(&'static str, Vec<Node<'a>>),
}

/// A rendered leaf: its header lines (each ending in CRLF) and its body.
struct Rendered {
    headers: Vec<u8>,
    body: Segment,
}

/// The rendered tree.
enum Tree {
    Leaf(Rendered),
    Multi(&'static str, Vec<Tree>),
}

/// The body segments being written, adjacent bytes merged.
#[derive(Default)]
struct Segments(Vec<Segment>, Vec<u8>);

impl Segments {
    fn bytes(&mut self, bytes: &[u8]) {
        self.1.extend_from_slice(bytes);
    }

    fn segment(&mut self, segment: &Segment) {
        match segment {
            Segment::Bytes(bytes) => self.1.extend_from_slice(bytes),
            Segment::Base64File(_) => {
                self.flush();
                self.0.push(segment.clone());
            }
        }
    }

    fn flush(&mut self) {
        if !self.1.is_empty() {
            self.0
                .push(Segment::Bytes(Bytes::from(std::mem::take(&mut self.1))));
        }
    }

    fn finish(mut self) -> Vec<Segment> {
        self.flush();
        self.0
    }
}

/// Renders `node`: the MIME header lines of the message (for its header
/// section) and the body segments.
pub(super) fn render(
    node: Node<'_>,
    random: &dyn RandomSource,
) -> Result<(Vec<u8>, Vec<Segment>), BuildError> {
    let tree = render_leaves(node)?;
    let mut boundaries = Vec::new();
    for _ in 0..8 {
        boundaries.clear();
        let mut clash = false;
        pick_boundaries(&tree, random, &mut boundaries, &mut clash);
        if !clash {
            break;
        }
    }
    let mut next = boundaries.into_iter();
    let mut headers = Vec::new();
    let mut body = Segments::default();
    match tree {
        Tree::Leaf(leaf) => {
            headers = leaf.headers;
            body.segment(&leaf.body);
        }
        Tree::Multi(subtype, children) => {
            let boundary = next.next().unwrap_or_default();
            multipart_header(subtype, &boundary, &mut headers);
            write_children(&boundary, children, &mut next, &mut body);
        }
    }
    Ok((headers, body.finish()))
}

/// `Content-Type: multipart/…; boundary="…"`.
fn multipart_header(subtype: &str, boundary: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Content-Type: multipart/");
    out.extend_from_slice(subtype.as_bytes());
    out.extend_from_slice(b";\r\n boundary=\"");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"\"\r\n");
}

/// The children of a multipart, each after a delimiter line, then the
/// close delimiter. Boundaries are taken from `next` in tree order.
fn write_children(
    boundary: &str,
    children: Vec<Tree>,
    next: &mut impl Iterator<Item = String>,
    out: &mut Segments,
) {
    for child in children {
        out.bytes(b"\r\n--");
        out.bytes(boundary.as_bytes());
        out.bytes(b"\r\n");
        match child {
            Tree::Leaf(leaf) => {
                out.bytes(&leaf.headers);
                out.bytes(b"\r\n");
                out.segment(&leaf.body);
            }
            Tree::Multi(subtype, grandchildren) => {
                let inner = next.next().unwrap_or_default();
                let mut headers = Vec::new();
                multipart_header(subtype, &inner, &mut headers);
                out.bytes(&headers);
                out.bytes(b"\r\n");
                write_children(&inner, grandchildren, next, out);
            }
        }
    }
    out.bytes(b"\r\n--");
    out.bytes(boundary.as_bytes());
    out.bytes(b"--\r\n");
}

/// One boundary per multipart in tree order; `clash` is set when a leaf
/// held in memory contains one.
fn pick_boundaries(
    tree: &Tree,
    random: &dyn RandomSource,
    out: &mut Vec<String>,
    clash: &mut bool,
) {
    let Tree::Multi(_, children) = tree else {
        return;
    };
    let mut bytes = [0u8; 12];
    random.fill(&mut bytes);
    let mut boundary = format!("=_mailwire_{}_", out.len());
    for b in bytes {
        boundary.push_str(&format!("{b:02x}"));
    }
    *clash |= contains(tree, boundary.as_bytes());
    out.push(boundary);
    for child in children {
        pick_boundaries(child, random, out, clash);
    }
}

/// Whether a leaf in memory under `tree` contains `needle`.
fn contains(tree: &Tree, needle: &[u8]) -> bool {
    match tree {
        Tree::Leaf(Rendered {
            body: Segment::Bytes(bytes),
            ..
        }) => memchr::memmem::find(bytes, needle).is_some(),
        Tree::Leaf(_) => false,
        Tree::Multi(_, children) => children.iter().any(|c| contains(c, needle)),
    }
}

fn render_leaves(node: Node<'_>) -> Result<Tree, BuildError> {
    Ok(match node {
        Node::Leaf(leaf) => Tree::Leaf(render_leaf(leaf)),
        Node::Multi(subtype, children) => Tree::Multi(
            subtype,
            children
                .into_iter()
                .map(render_leaves)
                .collect::<Result<_, _>>()?,
        ),
    })
}

/// A leaf's header lines and body.
fn render_leaf(leaf: Leaf<'_>) -> Rendered {
    let name_param: Vec<(&str, &str)> = match (leaf.filename, leaf.disposition) {
        (Some(name), Some(_)) => vec![("name", name)],
        _ => Vec::new(),
    };
    let content_type = leaf.mime.content_type(&name_param);
    let disposition = leaf.disposition.map(|kind| {
        let value = ContentType::new(kind);
        match leaf.filename {
            Some(name) => value.attribute("filename", name),
            None => value,
        }
    });
    if let LeafBody::File(path) = leaf.body {
        let mut headers = Vec::new();
        write_content_type("Content-Type", &content_type, &mut headers);
        if let Some(disposition) = &disposition {
            write_content_type("Content-Disposition", disposition, &mut headers);
        }
        if let Some(cid) = leaf.content_id {
            headers.extend_from_slice(format!("Content-ID: <{cid}>\r\n").as_bytes());
        }
        headers.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
        return Rendered {
            headers,
            body: Segment::Base64File(path.to_path_buf()),
        };
    }
    let contents = match leaf.body {
        LeafBody::Text(text) => BodyPart::Text(text.into()),
        LeafBody::Bytes(bytes) => BodyPart::Binary(bytes.as_ref().into()),
        LeafBody::Owned(bytes) => BodyPart::Binary(bytes.to_vec().into()),
        LeafBody::File(_) => BodyPart::Binary(Vec::new().into()),
    };
    let mut part = MimePart::new(content_type, contents);
    if let Some(disposition) = disposition {
        part = part.header("Content-Disposition", disposition);
    }
    if let Some(cid) = leaf.content_id {
        part = part.cid(cid);
    }
    let mut out = Vec::new();
    part.write_part(&mut out);
    // mail-builder writes the header lines, a blank line, then the body.
    match memchr::memmem::find(&out, b"\r\n\r\n") {
        Some(at) => {
            let body = Bytes::from(out.split_off(at + 4));
            out.truncate(at + 2);
            Rendered {
                headers: out,
                body: Segment::Bytes(body),
            }
        }
        None => Rendered {
            headers: out,
            body: Segment::Bytes(Bytes::new()),
        },
    }
}

/// `text` with every line end (CRLF, bare LF, bare CR) made CRLF: the
/// canonical form of text in MIME (RFC 2046 §4.1.1).
pub(super) fn canonical_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_line_ends() {
        assert_eq!(canonical_text("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(canonical_text("\r\r\n\n"), "\r\n\r\n\r\n");
    }
}
