//! A fast reader of the two fields reagent needs from containers-storage's
//! `images.json` (and `containers.json`): each entry's `id` and `names`.
//!
//! An entry is about 1.6 KB, almost all of it digests in fields reagent does
//! not read; a general JSON parser spends ~7 instructions a byte walking them,
//! which is most of a no-op build's planning at 10,000 images. This reader
//! skips strings with `memchr` and only looks at the structure around them.
//!
//! It is not a JSON validator. It reads the documents containers-storage
//! writes (Go's `encoding/json`: compact, no escapes in ids and names) and
//! answers `None` for anything it does not expect (an escape in a key, an id or
//! a name, a field of another type, a truncated document): the caller then
//! parses the document with `serde_json`, which says whether it is valid.

use crate::storage::StoredImage;

/// A list this long or longer is scanned in two halves, on two cores.
const SPLIT_FROM: usize = 1 << 20;

/// The entries of a JSON array of objects, each with a string `id` and an
/// optional (`null` or absent) array of strings `names`; `None` when the
/// document is not one this reader handles (see the module docs).
///
/// A long list is read in two halves at once: the second from the first
/// `},{"` past the middle, as if an entry started there, the first up to that
/// place. The second half's result is taken only if the first half's scan
/// arrives there as the start of an entry (the three bytes could be inside a
/// string); otherwise the first scan goes on to the end alone, as a scan of the
/// whole list would.
pub(crate) fn scan(bytes: &[u8]) -> Option<Vec<StoredImage>> {
    let mut s = Scanner { bytes, at: 0 };
    s.skip_ws();
    s.expect(b'[')?;
    s.skip_ws();
    if s.peek()? == b']' {
        s.at += 1;
        return s.end().then_some(Vec::new());
    }
    let middle = (bytes.len() >= SPLIT_FROM)
        .then(|| {
            memchr::memmem::find(&bytes[bytes.len() / 2..], b"},{\"")
                .map(|i| bytes.len() / 2 + i + 2)
        })
        .flatten();
    let Some(middle) = middle else {
        let mut out = Vec::new();
        s.entries(&mut out, None)?;
        return Some(out);
    };
    std::thread::scope(|scope| {
        let second = scope.spawn(|| {
            let mut rest = Scanner { bytes, at: middle };
            let mut out = Vec::new();
            rest.entries(&mut out, None).map(|_| out)
        });
        let mut out = Vec::new();
        match s.entries(&mut out, Some(middle))? {
            Stopped::AtEnd => Some(out),
            Stopped::At => {
                out.extend(second.join().ok()??);
                Some(out)
            }
        }
    })
}

/// Where [`Scanner::entries`] stopped.
#[derive(Debug, PartialEq, Eq)]
enum Stopped {
    /// After the closing `]`, with nothing but whitespace behind it.
    AtEnd,
    /// At the place it was asked to stop, as the start of an entry.
    At,
}

/// A `names` field as written: `null`, or a list.
enum Names {
    Null,
    List(Vec<String>),
}

impl Names {
    fn into_list(self) -> Option<Vec<String>> {
        match self {
            Names::Null => None,
            Names::List(names) => Some(names),
        }
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// Entries, each followed by `,` or the closing `]`, into `out`: up to the end
    /// of the document, or up to `stop` when an entry starts exactly there.
    fn entries(&mut self, out: &mut Vec<StoredImage>, stop: Option<usize>) -> Option<Stopped> {
        loop {
            self.skip_ws();
            if stop == Some(self.at) {
                return Some(Stopped::At);
            }
            out.push(self.entry()?);
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b']' => return self.end().then_some(Stopped::AtEnd),
                _ => return None,
            }
        }
    }

    /// Only whitespace left.
    fn end(&mut self) -> bool {
        self.skip_ws();
        self.at == self.bytes.len()
    }

    /// One object: its `id` and `names`, every other field skipped.
    fn entry(&mut self) -> Option<StoredImage> {
        self.expect(b'{')?;
        let mut id = None;
        let mut names = None;
        self.skip_ws();
        if self.peek()? == b'}' {
            self.at += 1;
            return None; // no id
        }
        loop {
            self.skip_ws();
            let key = self.plain_string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            match key {
                b"id" => id = Some(text(self.plain_string()?)?),
                b"names" => names = self.names()?.into_list(),
                _ => self.skip_value()?,
            }
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
        Some(StoredImage { id: id?, names })
    }

    /// `null` or an array of plain strings.
    fn names(&mut self) -> Option<Names> {
        if self.bytes[self.at..].starts_with(b"null") {
            self.at += 4;
            return Some(Names::Null);
        }
        self.expect(b'[')?;
        let mut names = Vec::new();
        self.skip_ws();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Names::List(names));
        }
        loop {
            self.skip_ws();
            names.push(text(self.plain_string()?)?);
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b']' => return Some(Names::List(names)),
                _ => return None,
            }
        }
    }

    /// A string without escapes, as its raw bytes (between the quotes).
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let rest = &self.bytes[self.at..];
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest[end] == b'\\' {
            return None;
        }
        self.at += end + 1;
        Some(&rest[..end])
    }

    /// Past any string, escapes and all.
    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            let rest = &self.bytes[self.at..];
            let found = memchr::memchr2(b'"', b'\\', rest)?;
            if rest[found] == b'"' {
                self.at += found + 1;
                return Some(());
            }
            // A backslash and the byte it escapes.
            self.at += found + 2;
        }
    }

    /// Past one value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' | b'[' => self.skip_nested(),
            _ => self.skip_scalar(),
        }
    }

    /// Past an object or array: strings are skipped whole (brackets in them do
    /// not count), and each bracket must close the one it matches.
    fn skip_nested(&mut self) -> Option<()> {
        let mut open = Vec::new();
        loop {
            match self.peek()? {
                b'"' => self.skip_string()?,
                b'{' => {
                    open.push(b'}');
                    self.at += 1;
                }
                b'[' => {
                    open.push(b']');
                    self.at += 1;
                }
                close @ (b'}' | b']') => {
                    if open.pop()? != close {
                        return None;
                    }
                    self.at += 1;
                    if open.is_empty() {
                        return Some(());
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    /// Past a number, `true`, `false` or `null`: up to the next delimiter.
    fn skip_scalar(&mut self) -> Option<()> {
        let start = self.at;
        while let Some(b) = self.peek() {
            if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                break;
            }
            self.at += 1;
        }
        (self.at > start).then_some(())
    }
}

/// Bytes between quotes as text.
fn text(raw: &[u8]) -> Option<String> {
    std::str::from_utf8(raw).ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `serde_json` makes of the document, for comparison.
    fn serde(doc: &str) -> Option<Vec<StoredImage>> {
        serde_json::from_str(doc).ok()
    }

    fn same_as_serde(doc: &str) {
        assert_eq!(scan(doc.as_bytes()), serde(doc), "{doc}");
    }

    const ID: &str = "b852b43009907f4bd68d9d2b74cb328dbecdd5ebc22e2e375aeb634f86ab9300";

    #[test]
    fn reads_what_containers_storage_writes() {
        let entry = format!(
            r#"{{"id":"{ID}","digest":"sha256:c5","names":["localhost/a:3e44","localhost/a:latest"],"names-history":["localhost/a:3e44"],"layer":"5f70","metadata":"{{\"signatures-sizes\":{{\"sha256:c5\":[]}}}}","big-data-names":["sha256:{ID}","manifest"],"big-data-sizes":{{"manifest":495,"sha256:{ID}":447}},"big-data-digests":{{"manifest":"sha256:c5"}},"created":"2026-12-07T20:55:00.123456789Z","flags":{{"x":true,"y":null,"z":[1,-2.5e3,{{}}]}}}}"#
        );
        let doc = format!("[{entry},{}]", entry.replace("localhost/a", "localhost/b"));
        let scanned = scan(doc.as_bytes()).expect("a document it reads");
        assert_eq!(scanned.len(), 2);
        assert_eq!(scanned[1].names.as_ref().unwrap()[1], "localhost/b:latest");
        same_as_serde(&doc);
    }

    #[test]
    fn agrees_with_serde_on_odd_but_valid_documents() {
        for doc in [
            "[]".to_string(),
            " [ ] \n".to_string(),
            format!(r#"[{{"id":"{ID}"}}]"#),
            format!(r#"[{{"id":"{ID}","names":null}}]"#),
            format!(r#"[{{"id":"{ID}","names":[]}}]"#),
            format!(r#"[ {{ "names" : [ "a" , "b" ] , "id" : "{ID}" }} ]"#),
            format!(r#"[{{"x":"a \"}}] [{{ \\","id":"{ID}","y":[[],{{}}],"z":"\\"}}]"#),
            format!(r#"[{{"n":12,"t":true,"f":false,"u":null,"id":"{ID}","names":["é"]}}]"#),
        ] {
            same_as_serde(&doc);
        }
    }

    /// A list of `n` entries shaped as containers-storage writes them, each with a
    /// long `metadata` before its names, so the whole is long enough to be scanned
    /// in halves and its middle most likely falls in a `metadata` string.
    fn long_list(n: usize, name: &dyn Fn(usize) -> String) -> String {
        let padding = "x".repeat(600);
        let entries: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"id":"{i:064}","metadata":"{padding}","names":["{}"],"layer":"l"}}"#,
                    name(i)
                )
            })
            .collect();
        format!("[{}]", entries.join(","))
    }

    #[test]
    fn a_long_list_read_in_halves_is_the_list_read_whole() {
        let doc = long_list(2_000, &|i| format!("localhost/n{i}:latest"));
        assert!(doc.len() >= SPLIT_FROM);
        let scanned = scan(doc.as_bytes()).expect("a document it reads");
        assert_eq!(scanned.len(), 2_000);
        assert_eq!(
            scanned[1_999].names.as_ref().unwrap()[0],
            "localhost/n1999:latest"
        );
        same_as_serde(&doc);
    }

    #[test]
    fn a_split_place_inside_a_string_is_not_taken_for_an_entry() {
        // Every name ends in `},{`: with its closing quote, the bytes a split looks for.
        let doc = long_list(2_000, &|i| format!("n{i}}},{{"));
        assert!(doc.len() >= SPLIT_FROM);
        let middle = doc.len() / 2;
        let first = middle + doc[middle..].find("},{\"").unwrap();
        assert!(
            doc[..first].ends_with("\"n1000"),
            "the place found is inside a name"
        );
        same_as_serde(&doc);
        assert_eq!(scan(doc.as_bytes()).unwrap().len(), 2_000);
        // A document broken after the middle is refused whole, as when read at once.
        assert_eq!(scan(&doc.as_bytes()[..doc.len() - 2]), None);
    }

    #[test]
    fn anything_unexpected_is_left_to_serde() {
        for doc in [
            String::new(),
            "{}".to_string(),
            "[".to_string(),
            "[{}]".to_string(),
            format!(r#"[{{"id":"{ID}"}}"#),
            format!(r#"[{{"id":"{ID}"}}] x"#),
            format!(r#"[{{"id":"{ID}","names":["a\u002fb"]}}]"#),
            format!(r#"[{{"i\u0064":"{ID}"}}]"#),
            r#"[{"id":7,"names":[]}]"#.to_string(),
            format!(r#"[{{"id":"{ID}","names":"a"}}]"#),
            format!(r#"[{{"id":"{ID}","x":"unterminated}}]"#),
        ] {
            assert_eq!(scan(doc.as_bytes()), None, "{doc}");
        }
    }
}
