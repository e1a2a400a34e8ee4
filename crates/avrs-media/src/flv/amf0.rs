//! A minimal AMF0 reader and writer, enough to write `onMetaData` and to
//! read (inspect or skip) script tags safely.
//!
//! Safety against hostile input: nesting depth is capped, declared counts
//! never size an allocation (every value consumes at least one input byte,
//! so the input length bounds the work), and all lengths are checked
//! before reading.

use crate::codec::cursor::Cursor;
use crate::error::{MediaError, Result};

/// Deepest nesting of objects and arrays accepted.
pub const MAX_DEPTH: usize = 16;

const WHAT: &str = "AMF0 value";

mod marker {
    pub const NUMBER: u8 = 0x00;
    pub const BOOLEAN: u8 = 0x01;
    pub const STRING: u8 = 0x02;
    pub const OBJECT: u8 = 0x03;
    pub const NULL: u8 = 0x05;
    pub const UNDEFINED: u8 = 0x06;
    pub const REFERENCE: u8 = 0x07;
    pub const ECMA_ARRAY: u8 = 0x08;
    pub const OBJECT_END: u8 = 0x09;
    pub const STRICT_ARRAY: u8 = 0x0A;
    pub const DATE: u8 = 0x0B;
    pub const LONG_STRING: u8 = 0x0C;
    pub const UNSUPPORTED: u8 = 0x0D;
    pub const XML_DOCUMENT: u8 = 0x0F;
    pub const TYPED_OBJECT: u8 = 0x10;
}

/// An AMF0 value. Strings are decoded lossily (invalid UTF-8 becomes U+FFFD).
#[derive(Debug, Clone, PartialEq)]
pub enum Amf0Value {
    Number(f64),
    Boolean(bool),
    /// A string, long string or XML document.
    String(String),
    /// An anonymous or typed object (the class name is dropped).
    Object(Vec<(String, Amf0Value)>),
    Null,
    Undefined,
    /// A reference to an earlier object, by index.
    Reference(u16),
    EcmaArray(Vec<(String, Amf0Value)>),
    StrictArray(Vec<Amf0Value>),
    /// Milliseconds since the epoch, and a time zone that AMF0 says to ignore.
    Date(f64),
    Unsupported,
}

impl Amf0Value {
    /// The value of `key` in an object or ECMA array.
    pub fn get(&self, key: &str) -> Option<&Amf0Value> {
        match self {
            Self::Object(props) | Self::EcmaArray(props) => {
                props.iter().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// Appends the encoding of this value. Strings longer than 65535 bytes
    /// become long strings; typed objects were read as plain objects.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Number(n) => write_number(*n, out),
            Self::Boolean(b) => write_bool(*b, out),
            Self::String(s) => write_string(s, out),
            Self::Object(props) => {
                out.push(marker::OBJECT);
                write_properties(props, out);
            }
            Self::Null => out.push(marker::NULL),
            Self::Undefined => out.push(marker::UNDEFINED),
            Self::Reference(index) => {
                out.push(marker::REFERENCE);
                out.extend_from_slice(&index.to_be_bytes());
            }
            Self::EcmaArray(props) => {
                write_ecma_array_start(props.len(), out);
                write_properties(props, out);
            }
            Self::StrictArray(items) => {
                out.push(marker::STRICT_ARRAY);
                out.extend_from_slice(&saturating_u32(items.len()).to_be_bytes());
                items.iter().for_each(|item| item.write(out));
            }
            Self::Date(millis) => {
                out.push(marker::DATE);
                out.extend_from_slice(&millis.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Self::Unsupported => out.push(marker::UNSUPPORTED),
        }
    }
}

/// Reads every value in `data` (a script tag is a name then its argument).
pub fn read_values(data: &[u8]) -> Result<Vec<Amf0Value>> {
    let mut c = Cursor::new(data, WHAT);
    let mut values = Vec::new();
    while !c.is_empty() {
        values.push(read_value(&mut c, 0)?);
    }
    Ok(values)
}

/// Reads one value from the start of `data`; returns it and the bytes used.
pub fn read_value_prefix(data: &[u8]) -> Result<(Amf0Value, usize)> {
    let mut c = Cursor::new(data, WHAT);
    let value = read_value(&mut c, 0)?;
    Ok((value, data.len() - c.remaining()))
}

fn read_value(c: &mut Cursor<'_>, depth: usize) -> Result<Amf0Value> {
    if depth > MAX_DEPTH {
        return Err(MediaError::TooLarge {
            what: "AMF0 nesting depth",
            size: depth,
            max: MAX_DEPTH,
        });
    }
    let value = match c.u8()? {
        marker::NUMBER => Amf0Value::Number(c.f64()?),
        marker::BOOLEAN => Amf0Value::Boolean(c.u8()? != 0),
        marker::STRING => Amf0Value::String(read_short_string(c)?),
        marker::OBJECT => Amf0Value::Object(read_properties(c, depth)?),
        marker::NULL => Amf0Value::Null,
        marker::UNDEFINED => Amf0Value::Undefined,
        marker::REFERENCE => Amf0Value::Reference(c.u16()?),
        marker::ECMA_ARRAY => {
            // The count is only a hint; the end marker ends the array.
            let _count = c.u32()?;
            Amf0Value::EcmaArray(read_properties(c, depth)?)
        }
        marker::STRICT_ARRAY => Amf0Value::StrictArray(read_strict_array(c, depth)?),
        marker::DATE => {
            let millis = c.f64()?;
            let _time_zone = c.u16()?;
            Amf0Value::Date(millis)
        }
        marker::LONG_STRING | marker::XML_DOCUMENT => Amf0Value::String(read_long_string(c)?),
        marker::UNSUPPORTED => Amf0Value::Unsupported,
        marker::TYPED_OBJECT => {
            let _class_name = read_short_string(c)?;
            Amf0Value::Object(read_properties(c, depth)?)
        }
        other => {
            return Err(MediaError::Unsupported {
                what: "AMF0 type marker",
                detail: format!("0x{other:02X}"),
            });
        }
    };
    Ok(value)
}

fn read_short_string(c: &mut Cursor<'_>) -> Result<String> {
    let len = usize::from(c.u16()?);
    Ok(String::from_utf8_lossy(c.take(len)?).into_owned())
}

fn read_long_string(c: &mut Cursor<'_>) -> Result<String> {
    let len = c.u32()? as usize;
    // `take` checks the length against the input before anything is copied.
    Ok(String::from_utf8_lossy(c.take(len)?).into_owned())
}

/// Reads `key, value` pairs up to the empty key followed by the end marker.
fn read_properties(c: &mut Cursor<'_>, depth: usize) -> Result<Vec<(String, Amf0Value)>> {
    let mut props = Vec::new();
    loop {
        let key = read_short_string(c)?;
        if key.is_empty() && c.rest().first() == Some(&marker::OBJECT_END) {
            c.u8()?;
            return Ok(props);
        }
        let value = read_value(c, depth + 1)?;
        props.push((key, value));
    }
}

fn read_strict_array(c: &mut Cursor<'_>, depth: usize) -> Result<Vec<Amf0Value>> {
    let count = c.u32()? as usize;
    // Each value takes at least its marker byte: a count beyond the input
    // is a lie, refused before any work.
    if count > c.remaining() {
        return Err(MediaError::Truncated {
            what: "AMF0 strict array",
            need: count,
            have: c.remaining(),
        });
    }
    (0..count).map(|_| read_value(c, depth + 1)).collect()
}

/// Appends an AMF0 number.
pub fn write_number(n: f64, out: &mut Vec<u8>) {
    out.push(marker::NUMBER);
    out.extend_from_slice(&n.to_be_bytes());
}

/// Appends an AMF0 boolean.
pub fn write_bool(b: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(&[marker::BOOLEAN, u8::from(b)]);
}

/// Appends an AMF0 string (a long string past 65535 bytes).
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    match u16::try_from(s.len()) {
        Ok(len) => {
            out.push(marker::STRING);
            out.extend_from_slice(&len.to_be_bytes());
        }
        Err(_) => {
            out.push(marker::LONG_STRING);
            out.extend_from_slice(&saturating_u32(s.len()).to_be_bytes());
        }
    }
    out.extend_from_slice(s.as_bytes());
}

/// Appends an ECMA array marker and its count; follow with
/// [`write_property_key`]/value pairs and [`write_object_end`].
pub fn write_ecma_array_start(count: usize, out: &mut Vec<u8>) {
    out.push(marker::ECMA_ARRAY);
    out.extend_from_slice(&saturating_u32(count).to_be_bytes());
}

/// Appends a property name (at most 65535 bytes: longer names are cut at a
/// character boundary).
pub fn write_property_key(key: &str, out: &mut Vec<u8>) {
    let mut end = key.len().min(usize::from(u16::MAX));
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u16).to_be_bytes());
    out.extend_from_slice(&key.as_bytes()[..end]);
}

/// Appends the end of an object or ECMA array: an empty key and 0x09.
pub fn write_object_end(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, marker::OBJECT_END]);
}

fn write_properties(props: &[(String, Amf0Value)], out: &mut Vec<u8>) {
    for (key, value) in props {
        write_property_key(key, out);
        value.write(out);
    }
    write_object_end(out);
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
