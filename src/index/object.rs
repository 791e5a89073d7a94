//! The framing shared by index objects: magic, a JSON header, binary
//! sections, and an XXH64 of everything before it at the end.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::checksum;
use crate::error::{Error, Result};

pub(crate) fn corrupt(what: &str, reason: &str) -> Error {
    Error::Corrupt {
        table: "(vector index)".into(),
        reason: format!("{what}: {reason}"),
    }
}

/// Magic, header length (u32), header JSON, padding to 8.
pub(crate) fn begin(magic: &[u8; 8], header: &impl Serialize) -> Vec<u8> {
    // Serialising a struct of plain fields cannot fail.
    let json = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(magic);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    pad8(&mut out);
    out
}

/// Appends the checksum of everything written so far.
pub(crate) fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Checks magic and checksum; returns the header and a reader positioned
/// at the first section (the checksum excluded from it).
pub(crate) fn open<'a, H: DeserializeOwned>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    what: &str,
) -> Result<(H, Reader<'a>)> {
    if bytes.len() < 20 || &bytes[..8] != magic {
        return Err(corrupt(what, "bad magic: not an object of this kind"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    if checksum(body) != u64::from_le_bytes(sum.try_into().unwrap_or_default()) {
        return Err(corrupt(what, "checksum mismatch"));
    }
    let mut r = Reader::new(body, 8);
    let hlen = r.u32()? as usize;
    let header = serde_json::from_slice(r.take(hlen)?)
        .map_err(|e| corrupt(what, &format!("bad header: {e}")))?;
    r.pad8()?;
    Ok((header, r))
}

pub(crate) fn pad8(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(8) {
        out.push(0);
    }
}

/// Bounds-checked little-endian reads of a metadata object.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }
    pub(crate) fn done(&self) -> bool {
        self.pos == self.buf.len()
    }
    pub(crate) fn pad8(&mut self) -> Result<()> {
        self.take((8 - self.pos % 8) % 8).map(|_| ())
    }
    pub(crate) fn u32s(&mut self, n: usize) -> Result<Vec<u32>> {
        let b = self.take(n.saturating_mul(4))?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| corrupt("index object", "truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    pub(crate) fn f32s(&mut self, n: usize) -> Result<Vec<f32>> {
        Ok(le_f32s(self.take(n.saturating_mul(4))?).into_owned())
    }
}

pub(crate) fn put_f32s(out: &mut Vec<u8>, v: &[f32]) {
    out.reserve(v.len() * 4);
    for x in v {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

/// Little-endian floats, borrowed when the bytes are aligned (the usual
/// case: reads land in fresh allocations), copied otherwise.
pub(crate) fn le_f32s(bytes: &[u8]) -> Cow<'_, [f32]> {
    #[cfg(target_endian = "little")]
    {
        // SAFETY: every bit pattern is a valid f32, and align_to only
        // yields the correctly aligned middle part.
        let (head, mid, tail) = unsafe { bytes.align_to::<f32>() };
        if head.is_empty() && tail.is_empty() {
            return Cow::Borrowed(mid);
        }
    }
    Cow::Owned(
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}
