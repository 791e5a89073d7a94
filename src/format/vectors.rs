//! Physical storage of vector columns. A fixed-size list of floats with no
//! null elements is stored in Parquet as FIXED_LEN_BYTE_ARRAY holding the
//! little-endian values (dim x width bytes per row): one definition level
//! per row instead of one per element, and plain memcpy to encode and
//! decode. The manifest's Arrow schema stays authoritative; readers turn
//! the binary column back into the list type without copying.

use std::sync::Arc;

use arrow_array::{
    make_array, Array, ArrayRef, FixedSizeBinaryArray, FixedSizeListArray, RecordBatch,
};
use arrow_buffer::Buffer;
use arrow_data::ArrayData;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::error::Result;

fn element_width(list_type: &DataType) -> Option<(usize, usize)> {
    match list_type {
        DataType::FixedSizeList(child, n) if child.data_type().is_floating() => child
            .data_type()
            .primitive_width()
            .map(|w| (*n as usize, w)),
        _ => None,
    }
}

/// The storage form of one column, if it has one.
fn to_storage(col: &ArrayRef) -> Option<ArrayRef> {
    let (dim, width) = element_width(col.data_type())?;
    let list = col.as_any().downcast_ref::<FixedSizeListArray>()?;
    let child = list.values();
    if child.null_count() > 0 || dim == 0 {
        return None;
    }
    let start = if list.is_empty() {
        0
    } else {
        list.value_offset_at(0)
    };
    let data = child.to_data();
    let bytes = data.buffers()[0]
        .slice_with_length((data.offset() + start) * width, list.len() * dim * width);
    let fsb =
        FixedSizeBinaryArray::try_new((dim * width) as i32, bytes, list.nulls().cloned()).ok()?;
    Some(Arc::new(fsb))
}

/// Converts vector columns of `batch` to their storage form; returns the
/// storage schema too. Batches of one file must all convert alike, so the
/// decision is per column of the whole file (`eligible`).
pub fn storage_batches(
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let eligible: Vec<bool> = (0..schema.fields().len())
        .map(|i| {
            element_width(schema.field(i).data_type()).is_some()
                && batches.iter().all(|b| to_storage(b.column(i)).is_some())
        })
        .collect();
    if !eligible.iter().any(|e| *e) {
        return Ok((schema.clone(), batches.to_vec()));
    }
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .zip(&eligible)
        .map(|(f, e)| match (e, element_width(f.data_type())) {
            (true, Some((dim, width))) => Arc::new(
                Field::new(
                    f.name(),
                    DataType::FixedSizeBinary((dim * width) as i32),
                    f.is_nullable(),
                )
                .with_metadata(f.metadata().clone()),
            ),
            _ => f.clone(),
        })
        .collect();
    let storage = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let out = batches
        .iter()
        .map(|b| {
            let cols = b
                .columns()
                .iter()
                .zip(&eligible)
                .map(|(c, e)| {
                    if *e {
                        to_storage(c).unwrap_or_else(|| c.clone())
                    } else {
                        c.clone()
                    }
                })
                .collect::<Vec<_>>();
            Ok(RecordBatch::try_new(storage.clone(), cols)?)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((storage, out))
}

/// Turns a stored column back into `target` (a no-op when it already is).
pub fn from_storage(col: ArrayRef, target: &DataType) -> Result<ArrayRef> {
    if col.data_type() == target {
        return Ok(col);
    }
    let (DataType::FixedSizeBinary(_), DataType::FixedSizeList(child, dim)) =
        (col.data_type(), target)
    else {
        return Ok(arrow_cast::cast(&col, target)?);
    };
    let fsb = col
        .as_any()
        .downcast_ref::<FixedSizeBinaryArray>()
        .ok_or_else(|| crate::error::Error::internal("fixed size binary"))?;
    let width = child.data_type().primitive_width().unwrap_or(4);
    let len = fsb.len();
    let d = fsb.to_data();
    let mut bytes: Buffer = d.buffers()[0].slice_with_length(
        d.offset() * fsb.value_length() as usize,
        len * fsb.value_length() as usize,
    );
    if bytes.as_ptr().align_offset(width) != 0 {
        // Kernels need aligned floats; copy the rare unaligned buffer.
        bytes = Buffer::from_slice_ref(bytes.as_slice());
    }
    let values = make_array(
        ArrayData::builder(child.data_type().clone())
            .len(len * *dim as usize)
            .add_buffer(bytes)
            .build()?,
    );
    Ok(Arc::new(FixedSizeListArray::try_new(
        child.clone(),
        *dim,
        values,
        fsb.nulls().cloned(),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Float32Array;

    #[test]
    fn round_trip_keeps_values_and_nulls() {
        let child = Arc::new(Field::new("item", DataType::Float32, true));
        let values = Float32Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let nulls = arrow_buffer::NullBuffer::from(vec![true, false, true]);
        let list: ArrayRef = Arc::new(FixedSizeListArray::new(
            child.clone(),
            2,
            Arc::new(values),
            Some(nulls),
        ));
        let sliced = list.slice(1, 2);
        let stored = to_storage(&sliced).unwrap();
        assert_eq!(stored.data_type(), &DataType::FixedSizeBinary(8));
        let back = from_storage(stored, sliced.data_type()).unwrap();
        assert_eq!(back.to_data(), sliced.to_data());
    }

    #[test]
    fn lists_with_null_elements_keep_their_type() {
        let child = Arc::new(Field::new("item", DataType::Float32, true));
        let values = Float32Array::from(vec![Some(1.0), None]);
        let list: ArrayRef = Arc::new(FixedSizeListArray::new(child, 2, Arc::new(values), None));
        assert!(to_storage(&list).is_none());
    }
}
