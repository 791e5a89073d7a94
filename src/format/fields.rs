//! Field ids: the identity of a column that survives renames and drops
//! (docs/FORMAT.md, "Field ids and column files").
//!
//! Every field of a schema has an id; the ids are listed in pre-order: each
//! top-level field, followed (when it is a struct) by its children's ids,
//! recursively. List items are part of their list field and have no id of
//! their own. A schema without explicit ids numbers its fields `0, 1, 2, ...`
//! in that order, and so does a data file without explicit ids.
//!
//! A data file's columns are matched to the table's fields by id, never by
//! name or position; [`adapt`] turns a column as stored into the table's
//! current definition (names, nested fields, types).

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, StructArray};
use arrow_schema::{DataType, Field, FieldRef, Fields, Schema};

use crate::error::{Error, Result};

/// How many ids a field takes: itself, plus its struct children's.
pub fn id_count(f: &Field) -> usize {
    match f.data_type() {
        DataType::Struct(children) => 1 + children.iter().map(|c| id_count(c)).sum::<usize>(),
        _ => 1,
    }
}

/// The ids of a schema that has none stored: `0, 1, 2, ...` in pre-order.
pub fn default_ids(schema: &Schema) -> Vec<i32> {
    let n: usize = schema.fields().iter().map(|f| id_count(f)).sum();
    (0..n as i32).collect()
}

/// For each top-level field, the range of its ids within the flat list.
pub fn top_level_ranges(fields: &Fields) -> Vec<std::ops::Range<usize>> {
    let mut at = 0;
    fields
        .iter()
        .map(|f| {
            let r = at..at + id_count(f);
            at = r.end;
            r
        })
        .collect()
}

/// A field with its ids, as a tree (struct children as children).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: i32,
    /// The field; for a struct, its children are rebuilt from `children`
    /// by [`Node::to_field`].
    pub field: Field,
    pub children: Vec<Node>,
}

impl Node {
    fn build(f: &Field, ids: &[i32]) -> Node {
        let mut children = Vec::new();
        if let DataType::Struct(cs) = f.data_type() {
            let mut at = 1;
            for c in cs {
                let n = id_count(c);
                children.push(Node::build(c, &ids[at..at + n]));
                at += n;
            }
        }
        Node {
            id: ids[0],
            field: f.clone(),
            children,
        }
    }

    pub fn to_field(&self) -> Field {
        match self.field.data_type() {
            DataType::Struct(_) => {
                let fields: Fields = self
                    .children
                    .iter()
                    .map(|c| Arc::new(c.to_field()))
                    .collect();
                self.field.clone().with_data_type(DataType::Struct(fields))
            }
            _ => self.field.clone(),
        }
    }

    fn flatten(&self, out: &mut Vec<i32>) {
        out.push(self.id);
        for c in &self.children {
            c.flatten(out);
        }
    }

    /// Every id in this subtree.
    pub fn ids(&self) -> Vec<i32> {
        let mut v = Vec::new();
        self.flatten(&mut v);
        v
    }
}

/// A schema as a tree of fields with ids.
pub fn tree(schema: &Schema, ids: &[i32]) -> Result<Vec<Node>> {
    let ranges = top_level_ranges(schema.fields());
    if ranges.last().map(|r| r.end).unwrap_or(0) != ids.len() {
        return Err(Error::internal(format!(
            "{} field ids for a schema of {} fields",
            ids.len(),
            ranges.last().map(|r| r.end).unwrap_or(0)
        )));
    }
    Ok(schema
        .fields()
        .iter()
        .zip(ranges)
        .map(|(f, r)| Node::build(f, &ids[r]))
        .collect())
}

/// The schema (keeping `metadata`) and flat ids of a tree.
pub fn untree(nodes: &[Node], like: &Schema) -> (Schema, Vec<i32>) {
    let mut ids = Vec::new();
    let fields: Vec<FieldRef> = nodes
        .iter()
        .map(|n| {
            n.flatten(&mut ids);
            Arc::new(n.to_field())
        })
        .collect();
    (
        Schema::new_with_metadata(fields, like.metadata().clone()),
        ids,
    )
}

/// Whether every field and row of `stored` (a column as written, described
/// by `from`) can be read as `to` without loss or failure: the same ids,
/// and types equal or safely widened. Used to decide whether data written
/// on an older schema fits a newer one.
pub fn fits(from: &Node, to: &Node) -> bool {
    if from.id != to.id {
        return false;
    }
    if from.field.is_nullable() && !to.field.is_nullable() {
        return false;
    }
    match (from.field.data_type(), to.field.data_type()) {
        (DataType::Struct(_), DataType::Struct(_)) => to.children.iter().all(|t| {
            from.children
                .iter()
                .find(|f| f.id == t.id)
                .is_some_and(|f| fits(f, t))
        }),
        (a, b) => a == b || widens(a, b),
    }
}

/// Casts that never fail and lose nothing.
pub fn widens(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let int_rank = |t: &DataType| match t {
        Int8 => Some((true, 1)),
        Int16 => Some((true, 2)),
        Int32 => Some((true, 4)),
        Int64 => Some((true, 8)),
        UInt8 => Some((false, 1)),
        UInt16 => Some((false, 2)),
        UInt32 => Some((false, 4)),
        UInt64 => Some((false, 8)),
        _ => None,
    };
    let float_rank = |t: &DataType| match t {
        Float16 => Some(2),
        Float32 => Some(4),
        Float64 => Some(8),
        _ => None,
    };
    match (from, to) {
        (Utf8, LargeUtf8) | (Binary, LargeBinary) => true,
        (FixedSizeList(a, n), FixedSizeList(b, m)) => {
            n == m && widens(a.data_type(), b.data_type())
        }
        _ => match (
            int_rank(from),
            int_rank(to),
            float_rank(from),
            float_rank(to),
        ) {
            (Some((s1, w1)), Some((s2, w2)), _, _) => {
                (s1 == s2 && w2 >= w1) || (!s1 && s2 && w2 > w1)
            }
            (_, _, Some(w1), Some(w2)) => w2 >= w1,
            _ => false,
        },
    }
}

/// Turns a column as stored (field `from`, ids in its tree) into the table's
/// field `to`: struct children matched by id (a child the file lacks reads
/// as nulls; one the table dropped is left out), names and nullability from
/// `to`, leaf types converted (vector storage, then a cast when the type was
/// changed by `alterColumns`).
pub fn adapt(col: ArrayRef, from: &Node, to: &Node) -> Result<ArrayRef> {
    if let (DataType::Struct(_), Some(s)) = (
        to.field.data_type(),
        col.as_any().downcast_ref::<StructArray>(),
    ) {
        let mut fields = Vec::with_capacity(to.children.len());
        let mut arrays = Vec::with_capacity(to.children.len());
        for t in &to.children {
            let tf = t.to_field();
            let a = match from.children.iter().position(|f| f.id == t.id) {
                Some(i) => adapt(s.column(i).clone(), &from.children[i], t)?,
                None => arrow_array::new_null_array(tf.data_type(), s.len()),
            };
            fields.push(Arc::new(tf));
            arrays.push(a);
        }
        if fields.is_empty() {
            return Ok(Arc::new(StructArray::new_empty_fields(
                s.len(),
                s.nulls().cloned(),
            )));
        }
        return Ok(Arc::new(StructArray::try_new(
            fields.into(),
            arrays,
            s.nulls().cloned(),
        )?));
    }
    let target = to.field.data_type();
    if col.data_type() == target {
        return Ok(col);
    }
    // Vectors are stored as fixed-size binary (see `vectors`); the element
    // width the file used follows from the byte width and the dimension.
    let col = match (col.data_type(), target) {
        (DataType::FixedSizeBinary(bytes), DataType::FixedSizeList(child, dim)) if *dim > 0 => {
            let stored_child = match *bytes / *dim {
                2 => DataType::Float16,
                8 => DataType::Float64,
                _ => DataType::Float32,
            };
            let stored = DataType::FixedSizeList(
                Arc::new(child.as_ref().clone().with_data_type(stored_child)),
                *dim,
            );
            super::vectors::from_storage(col, &stored)?
        }
        _ => col,
    };
    if col.data_type() == target {
        return Ok(col);
    }
    let opts = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    Ok(arrow_cast::cast_with_options(&col, target, &opts)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, Int32Array};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("a", DataType::Int32, true),
            Field::new(
                "s",
                DataType::Struct(
                    vec![
                        Field::new("x", DataType::Int32, true),
                        Field::new("y", DataType::Float32, true),
                    ]
                    .into(),
                ),
                true,
            ),
        ])
    }

    #[test]
    fn ids_round_trip_through_the_tree() {
        let s = schema();
        assert_eq!(default_ids(&s), vec![0, 1, 2, 3]);
        let t = tree(&s, &[5, 7, 8, 9]).unwrap();
        assert_eq!(t[1].children[1].id, 9);
        let (back, ids) = untree(&t, &s);
        assert_eq!(back, s);
        assert_eq!(ids, vec![5, 7, 8, 9]);
    }

    #[test]
    fn adapt_matches_struct_children_by_id() {
        let s = schema();
        let stored = tree(&s, &default_ids(&s)).unwrap();
        let col = StructArray::try_new(
            match s.field(1).data_type() {
                DataType::Struct(f) => f.clone(),
                _ => unreachable!(),
            },
            vec![
                Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
                Arc::new(Float32Array::from(vec![0.5, 1.5])),
            ],
            None,
        )
        .unwrap();
        // Rename x -> xx, drop y, widen xx to Int64.
        let mut now = stored[1].clone();
        now.children.truncate(1);
        now.children[0].field = Field::new("xx", DataType::Int64, true);
        let out = adapt(Arc::new(col), &stored[1], &now).unwrap();
        let out = out.as_any().downcast_ref::<StructArray>().unwrap();
        assert_eq!(out.fields()[0].name(), "xx");
        assert_eq!(out.num_columns(), 1);
        assert_eq!(out.column(0).data_type(), &DataType::Int64);
    }

    #[test]
    fn widening_rules() {
        assert!(widens(&DataType::Int32, &DataType::Int64));
        assert!(!widens(&DataType::Int64, &DataType::Int32));
        assert!(widens(&DataType::Float32, &DataType::Float64));
        assert!(!widens(&DataType::Int32, &DataType::Float64));
        assert!(widens(&DataType::UInt8, &DataType::Int16));
    }
}
