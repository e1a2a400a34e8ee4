//! TSD: the `type u16 | size u32 | data[size]` items (little-endian) that
//! carry every argument of AVRS control packets.
//!
//! Decoding is two-pass. [`TsdList::parse`] (or the allocation-free
//! [`TsdIter`]) checks only structure: every header complete, every size
//! within the buffer and the per-item cap, the item count within its cap.
//! Meaning comes second, through the typed getters of [`TsdItem`], which fail
//! on a wrong size instead of reading zero as the C getters do.

use crate::error::{ProtoError, Result};
use crate::ids::{Guuid, Hash32};

/// Size of one item header: `type u16 | size u32`.
pub const HEADER_SIZE: usize = 6;

/// Caps applied by the structural pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsdLimits {
    /// Most items one list may hold.
    pub max_items: usize,
    /// Largest value (the `size` field) one item may declare.
    pub max_item_size: usize,
}

impl TsdLimits {
    /// Room for every AVRS argument: 100 KiB avatars, multi-KiB post-quantum
    /// signatures, long content lists.
    pub const DEFAULT: Self = Self {
        max_items: 1024,
        max_item_size: 256 * 1024,
    };
}

impl Default for TsdLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One item as found in a buffer: borrowed, never copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsdItem<'a> {
    /// The `type` field.
    pub code: u16,
    /// The `data` bytes, exactly `size` of them.
    pub value: &'a [u8],
    /// Where this item's header starts inside the parsed buffer. A signature
    /// item covers every byte before it, so this is what it signs.
    pub offset: usize,
}

impl<'a> TsdItem<'a> {
    /// Bytes this item takes on the wire, header included.
    pub fn encoded_len(&self) -> usize {
        HEADER_SIZE + self.value.len()
    }

    fn exact<const N: usize>(&self, what: &'static str) -> Result<[u8; N]> {
        self.value.try_into().map_err(|_| ProtoError::WrongSize {
            what,
            expected: N,
            actual: self.value.len(),
        })
    }

    pub fn u8(&self) -> Result<u8> {
        Ok(self.exact::<1>("u8 item")?[0])
    }

    pub fn u16(&self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.exact("u16 item")?))
    }

    pub fn u32(&self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.exact("u32 item")?))
    }

    pub fn u64(&self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.exact("u64 item")?))
    }

    pub fn guuid(&self) -> Result<Guuid> {
        Ok(Guuid::from_bytes(self.exact("GUUID item")?))
    }

    pub fn hash(&self) -> Result<Hash32> {
        Ok(Hash32(self.exact("hash item")?))
    }

    /// A NUL-terminated UTF-8 string; the NUL counts in `size` and is not
    /// returned. An inner NUL is refused so the text means the same to a C
    /// reader and to us.
    pub fn str(&self) -> Result<&'a str> {
        let what = "string item";
        let (last, body) = self.value.split_last().ok_or(ProtoError::BadString {
            what,
            reason: "empty value, the NUL terminator is missing",
        })?;
        if *last != 0 {
            return Err(ProtoError::BadString {
                what,
                reason: "not NUL-terminated",
            });
        }
        if body.contains(&0) {
            return Err(ProtoError::BadString {
                what,
                reason: "NUL inside the string",
            });
        }
        std::str::from_utf8(body).map_err(|_| ProtoError::BadString {
            what,
            reason: "not UTF-8",
        })
    }

    /// Like [`Self::str`], also refusing text longer than `max` bytes.
    pub fn str_max(&self, max: usize) -> Result<&'a str> {
        let text = self.str()?;
        if text.len() > max {
            return Err(ProtoError::TooLarge {
                what: "string item",
                size: text.len(),
                max,
            });
        }
        Ok(text)
    }
}

/// Walks items one by one without allocating, checking structure as it goes.
/// After the first error it yields nothing more.
#[derive(Debug, Clone)]
pub struct TsdIter<'a> {
    buf: &'a [u8],
    pos: usize,
    count: usize,
    limits: TsdLimits,
    failed: bool,
}

impl<'a> TsdIter<'a> {
    pub fn new(buf: &'a [u8], limits: TsdLimits) -> Self {
        Self {
            buf,
            pos: 0,
            count: 0,
            limits,
            failed: false,
        }
    }

    fn next_item(&mut self) -> Result<TsdItem<'a>> {
        let rest = &self.buf[self.pos..];
        if rest.len() < HEADER_SIZE {
            return Err(ProtoError::Truncated {
                what: "TSD header",
                need: HEADER_SIZE,
                have: rest.len(),
            });
        }
        if self.count == self.limits.max_items {
            return Err(ProtoError::TooMany {
                what: "TSD items",
                max: self.limits.max_items,
            });
        }
        let code = u16::from_le_bytes([rest[0], rest[1]]);
        // u32 always fits usize on the 32- and 64-bit targets we build for.
        let size = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize;
        if size > self.limits.max_item_size {
            return Err(ProtoError::TooLarge {
                what: "TSD item",
                size,
                max: self.limits.max_item_size,
            });
        }
        let body = &rest[HEADER_SIZE..];
        if body.len() < size {
            return Err(ProtoError::Truncated {
                what: "TSD value",
                need: size,
                have: body.len(),
            });
        }
        let item = TsdItem {
            code,
            value: &body[..size],
            offset: self.pos,
        };
        self.pos += HEADER_SIZE + size;
        self.count += 1;
        Ok(item)
    }
}

impl<'a> Iterator for TsdIter<'a> {
    type Item = Result<TsdItem<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos == self.buf.len() {
            return None;
        }
        let item = self.next_item();
        self.failed = item.is_err();
        Some(item)
    }
}

/// A structurally valid list of items over a borrowed buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TsdList<'a> {
    items: Vec<TsdItem<'a>>,
}

impl<'a> TsdList<'a> {
    /// Structural pass over a whole buffer: it must be a sequence of complete
    /// items and nothing else.
    pub fn parse(buf: &'a [u8], limits: TsdLimits) -> Result<Self> {
        let items = TsdIter::new(buf, limits).collect::<Result<Vec<_>>>()?;
        Ok(Self { items })
    }

    pub fn items(&self) -> &[TsdItem<'a>] {
        &self.items
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &TsdItem<'a>> {
        self.items.iter()
    }

    /// The first item with `code`, if any.
    pub fn first(&self, code: u16) -> Option<&TsdItem<'a>> {
        self.items.iter().find(|item| item.code == code)
    }

    /// The single item with `code`: absent is `Ok(None)`, twice is an error.
    pub fn unique(&self, code: u16, what: &'static str) -> Result<Option<&TsdItem<'a>>> {
        let mut found = self.items.iter().filter(|item| item.code == code);
        let first = found.next();
        if found.next().is_some() {
            return Err(ProtoError::Duplicate { what });
        }
        Ok(first)
    }

    /// The single item with `code`, which must be present.
    pub fn required(&self, code: u16, what: &'static str) -> Result<&TsdItem<'a>> {
        self.unique(code, what)?.ok_or(ProtoError::Missing { what })
    }

    /// Every item with `code`, in order.
    pub fn all(&self, code: u16) -> impl Iterator<Item = &TsdItem<'a>> {
        self.items.iter().filter(move |item| item.code == code)
    }

    /// The last item, which in signed packets must be the signature.
    pub fn last(&self) -> Option<&TsdItem<'a>> {
        self.items.last()
    }
}

/// Appends items to a byte buffer in wire order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TsdBuilder {
    buf: Vec<u8>,
}

impl TsdBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Continues after bytes that are already there (an AVRS sub-header,
    /// say), so offsets stay those of the final packet.
    pub fn with_prefix(prefix: Vec<u8>) -> Self {
        Self { buf: prefix }
    }

    /// Appends one item. Values over `u32::MAX` bytes cannot be framed.
    pub fn put(&mut self, code: u16, value: &[u8]) -> Result<&mut Self> {
        let size = u32::try_from(value.len()).map_err(|_| ProtoError::TooLarge {
            what: "TSD item",
            size: value.len(),
            max: u32::MAX as usize,
        })?;
        self.buf.reserve(HEADER_SIZE + value.len());
        self.buf.extend_from_slice(&code.to_le_bytes());
        self.buf.extend_from_slice(&size.to_le_bytes());
        self.buf.extend_from_slice(value);
        Ok(self)
    }

    pub fn put_u8(&mut self, code: u16, v: u8) -> &mut Self {
        self.put_small(code, &[v])
    }

    pub fn put_u16(&mut self, code: u16, v: u16) -> &mut Self {
        self.put_small(code, &v.to_le_bytes())
    }

    pub fn put_u32(&mut self, code: u16, v: u32) -> &mut Self {
        self.put_small(code, &v.to_le_bytes())
    }

    pub fn put_u64(&mut self, code: u16, v: u64) -> &mut Self {
        self.put_small(code, &v.to_le_bytes())
    }

    pub fn put_guuid(&mut self, code: u16, v: Guuid) -> &mut Self {
        self.put_small(code, &v.to_bytes())
    }

    pub fn put_hash(&mut self, code: u16, v: &Hash32) -> &mut Self {
        self.put_small(code, &v.0)
    }

    /// Appends a NUL-terminated string. Text with an inner NUL is refused:
    /// a C reader would see it cut short.
    pub fn put_str(&mut self, code: u16, text: &str) -> Result<&mut Self> {
        if text.as_bytes().contains(&0) {
            return Err(ProtoError::BadString {
                what: "string item",
                reason: "NUL inside the string",
            });
        }
        let size = u32::try_from(text.len() + 1).map_err(|_| ProtoError::TooLarge {
            what: "TSD item",
            size: text.len() + 1,
            max: u32::MAX as usize,
        })?;
        self.buf.reserve(HEADER_SIZE + text.len() + 1);
        self.buf.extend_from_slice(&code.to_le_bytes());
        self.buf.extend_from_slice(&size.to_le_bytes());
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.push(0);
        Ok(self)
    }

    fn put_small(&mut self, code: u16, value: &[u8]) -> &mut Self {
        self.put(code, value)
            .expect("values of at most 32 bytes always fit a u32 size")
    }

    /// Bytes written so far (what a signature item appended next covers).
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_is_6_bytes_code_then_size_little_endian() {
        let mut b = TsdBuilder::new();
        b.put(0x1234, &[0xAA, 0xBB]).unwrap();
        assert_eq!(
            b.as_bytes(),
            &[0x34, 0x12, 0x02, 0x00, 0x00, 0x00, 0xAA, 0xBB]
        );
        assert_eq!(HEADER_SIZE, 6);
    }

    #[test]
    fn scalars_strings_and_ids_have_their_literal_layout() {
        let mut b = TsdBuilder::new();
        b.put_u8(1, 0x7F)
            .put_u16(2, 0x0102)
            .put_u32(3, 0x0102_0304)
            .put_u64(4, 0x0102_0304_0506_0708);
        b.put_str(5, "hi").unwrap();
        b.put_guuid(6, Guuid::new(1, 2));
        let bytes = b.finish();
        let expected: Vec<u8> = [
            &[1, 0, 1, 0, 0, 0, 0x7F][..],
            &[2, 0, 2, 0, 0, 0, 0x02, 0x01],
            &[3, 0, 4, 0, 0, 0, 0x04, 0x03, 0x02, 0x01],
            &[4, 0, 8, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1],
            &[5, 0, 3, 0, 0, 0, b'h', b'i', 0],
            &[
                6, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
            ],
        ]
        .concat();
        assert_eq!(bytes, expected);

        let list = TsdList::parse(&bytes, TsdLimits::DEFAULT).unwrap();
        assert_eq!(list.len(), 6);
        assert_eq!(list.required(1, "u8").unwrap().u8().unwrap(), 0x7F);
        assert_eq!(list.required(2, "u16").unwrap().u16().unwrap(), 0x0102);
        assert_eq!(list.required(3, "u32").unwrap().u32().unwrap(), 0x0102_0304);
        assert_eq!(
            list.required(4, "u64").unwrap().u64().unwrap(),
            0x0102_0304_0506_0708
        );
        assert_eq!(list.required(5, "str").unwrap().str().unwrap(), "hi");
        assert_eq!(
            list.required(6, "id").unwrap().guuid().unwrap(),
            Guuid::new(1, 2)
        );
        let offsets: Vec<usize> = list.iter().map(|i| i.offset).collect();
        assert_eq!(offsets, vec![0, 7, 15, 25, 39, 48]);
    }

    #[test]
    fn getters_refuse_wrong_sizes_instead_of_reading_zero() {
        let item = TsdItem {
            code: 1,
            value: &[1, 2, 3],
            offset: 0,
        };
        assert_eq!(
            item.u32(),
            Err(ProtoError::WrongSize {
                what: "u32 item",
                expected: 4,
                actual: 3
            })
        );
        assert!(item.u8().is_err());
        assert!(item.u16().is_err());
        assert!(item.u64().is_err());
        assert!(item.guuid().is_err());
        assert!(item.hash().is_err());
        let long = TsdItem {
            code: 1,
            value: &[0; 5],
            offset: 0,
        };
        assert!(long.u32().is_err(), "a longer value is also wrong");
    }

    #[test]
    fn strings_must_be_nul_terminated_utf8_without_inner_nul() {
        let ok = TsdItem {
            code: 0,
            value: b"abc\0",
            offset: 0,
        };
        assert_eq!(ok.str().unwrap(), "abc");
        assert_eq!(
            TsdItem {
                code: 0,
                value: b"\0",
                offset: 0
            }
            .str()
            .unwrap(),
            ""
        );
        for bad in [&b""[..], b"abc", b"a\0c\0", b"\xff\0"] {
            let item = TsdItem {
                code: 0,
                value: bad,
                offset: 0,
            };
            assert!(
                matches!(item.str(), Err(ProtoError::BadString { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            ok.str_max(2),
            Err(ProtoError::TooLarge {
                size: 3,
                max: 2,
                ..
            })
        ));
        assert_eq!(ok.str_max(3).unwrap(), "abc");
        assert!(TsdBuilder::new().put_str(1, "a\0b").is_err());
    }

    #[test]
    fn structure_errors_are_named() {
        // Header cut short.
        assert!(matches!(
            TsdList::parse(&[1, 0, 5], TsdLimits::DEFAULT),
            Err(ProtoError::Truncated {
                what: "TSD header",
                need: 6,
                have: 3
            })
        ));
        // Value cut short.
        assert!(matches!(
            TsdList::parse(&[1, 0, 5, 0, 0, 0, 1, 2], TsdLimits::DEFAULT),
            Err(ProtoError::Truncated {
                what: "TSD value",
                need: 5,
                have: 2
            })
        ));
        // Size over the cap, checked before anything is read.
        let limits = TsdLimits {
            max_items: 8,
            max_item_size: 4,
        };
        assert!(matches!(
            TsdList::parse(&[1, 0, 0xFF, 0xFF, 0xFF, 0xFF], limits),
            Err(ProtoError::TooLarge {
                size: 0xFFFF_FFFF,
                max: 4,
                ..
            })
        ));
        // Too many items.
        let mut b = TsdBuilder::new();
        for code in 0..3 {
            b.put_u8(code, 0);
        }
        let limits = TsdLimits {
            max_items: 2,
            max_item_size: 16,
        };
        assert!(matches!(
            TsdList::parse(b.as_bytes(), limits),
            Err(ProtoError::TooMany { max: 2, .. })
        ));
    }

    #[test]
    fn empty_buffer_is_an_empty_list_and_zero_sized_items_are_legal() {
        assert!(TsdList::parse(&[], TsdLimits::DEFAULT).unwrap().is_empty());
        let list = TsdList::parse(&[9, 0, 0, 0, 0, 0], TsdLimits::DEFAULT).unwrap();
        assert_eq!(list.items()[0].value, &[] as &[u8]);
    }

    #[test]
    fn unique_and_required_see_duplicates_and_absence() {
        let mut b = TsdBuilder::new();
        b.put_u8(1, 0).put_u8(1, 1).put_u8(2, 2);
        let bytes = b.finish();
        let list = TsdList::parse(&bytes, TsdLimits::DEFAULT).unwrap();
        assert_eq!(
            list.unique(1, "one"),
            Err(ProtoError::Duplicate { what: "one" })
        );
        assert_eq!(
            list.required(3, "three"),
            Err(ProtoError::Missing { what: "three" })
        );
        assert_eq!(list.all(1).count(), 2);
        assert_eq!(list.last().unwrap().code, 2);
        assert_eq!(list.first(1).unwrap().value, &[0]);
    }

    #[test]
    fn iterator_stops_after_the_first_error() {
        let bytes = [1, 0, 0, 0, 0, 0, 2, 0];
        let mut it = TsdIter::new(&bytes, TsdLimits::DEFAULT);
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    proptest! {
        #[test]
        fn encode_then_decode_gives_the_same_items(
            items in proptest::collection::vec((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..64)), 0..32)
        ) {
            let mut b = TsdBuilder::new();
            for (code, value) in &items {
                b.put(*code, value).unwrap();
            }
            let bytes = b.finish();
            let list = TsdList::parse(&bytes, TsdLimits::DEFAULT).unwrap();
            let decoded: Vec<(u16, Vec<u8>)> =
                list.iter().map(|i| (i.code, i.value.to_vec())).collect();
            prop_assert_eq!(decoded, items);
        }

        #[test]
        fn strings_round_trip(text in "[^\u{0}]{0,80}") {
            let mut b = TsdBuilder::new();
            b.put_str(7, &text).unwrap();
            let bytes = b.finish();
            let list = TsdList::parse(&bytes, TsdLimits::DEFAULT).unwrap();
            prop_assert_eq!(list.required(7, "s").unwrap().str().unwrap(), text.as_str());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = TsdList::parse(&bytes, TsdLimits { max_items: 16, max_item_size: 128 });
        }
    }
}
