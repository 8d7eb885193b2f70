//! A `TransactWriteItems` under construction, remembering why each item is in it, so that
//! a cancelled transaction's reasons (one per item, in order) map back to domain errors.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::errors::build_error;
use super::items::{Item, PK, SK, Write};
use contacts_app::ports::StoreError;
use contacts_domain::{AccountId, Role};

/// DynamoDB's most items in one `TransactWriteItems`.
pub const TX_MAX_ITEMS: usize = 100;

/// What an item of a transaction is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Request,
    /// A batch's item (SPEC §7).
    Batch,
    /// The mark of a batch's create in progress (`items::OPENING_SK`).
    Opening,
    Copy,
    Token,
    Lock(Role),
    Service,
    /// An account the write depends on (its zone, its standing).
    Account(AccountId),
    Membership,
    /// The record of when a request counts as unaccepted.
    Unaccepted,
    /// An account item's address change (profile email).
    Profile,
    /// A mail posted with the change that implies it, or settled with its history step.
    Mail,
    /// An event committed with the change it tells of.
    Event,
}

type Names = HashMap<String, String>;
type Values = HashMap<String, AttributeValue>;

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub struct Cond {
    expression: String,
    names: Names,
    values: Values,
}

impl Cond {
    pub fn new(expression: impl Into<String>) -> Self {
        Self { expression: expression.into(), ..Self::default() }
    }

    /// The same placeholders with `expression` instead.
    pub fn expression(mut self, expression: impl Into<String>) -> Self {
        self.expression = expression.into();
        self
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    pub fn parts(self) -> (String, Option<Names>, Option<Values>) {
        let names = (!self.names.is_empty()).then_some(self.names);
        let values = (!self.values.is_empty()).then_some(self.values);
        (self.expression, names, values)
    }
}

#[derive(Default)]
pub struct Tx {
    table: String,
    pub items: Vec<TransactWriteItem>,
    pub purposes: Vec<Purpose>,
    /// Every key written so far: DynamoDB refuses a transaction that touches an item twice,
    /// so adding one twice is a bug of ours, caught here with a clear message.
    keys: HashSet<(String, String)>,
}

fn key_of(item: &Item) -> (String, String) {
    let part = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    (part(PK), part(SK))
}

fn only_key(item: &Item) -> Item {
    item.iter().filter(|(name, _)| *name == PK || *name == SK).map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Tx {
    pub fn new(table: &str) -> Self {
        Self { table: table.to_owned(), ..Self::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn claim(&mut self, item: &Item) -> Result<(), StoreError> {
        let key = key_of(item);
        if !self.keys.insert(key.clone()) {
            return Err(StoreError::Failed(format!("one transaction would write {} / {} twice", key.0, key.1).into()));
        }
        Ok(())
    }

    /// Puts `item`, on `cond` if any; a failed condition returns the item as it was.
    pub fn put(&mut self, item: Item, cond: Option<Cond>, purpose: Purpose) -> Result<(), StoreError> {
        self.claim(&item)?;
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(cond) = cond {
            let (expression, names, values) = cond.parts();
            put = put
                .condition_expression(expression)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        self.items.push(TransactWriteItem::builder().put(put.build().map_err(build_error)?).build());
        self.purposes.push(purpose);
        Ok(())
    }

    /// Deletes the item with `key` (extra attributes are ignored), on `cond` if any.
    pub fn delete(&mut self, key: Item, cond: Option<Cond>, purpose: Purpose) -> Result<(), StoreError> {
        let key = only_key(&key);
        self.claim(&key)?;
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some(cond) = cond {
            let (expression, names, values) = cond.parts();
            delete = delete
                .condition_expression(expression)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        }
        self.items.push(TransactWriteItem::builder().delete(delete.build().map_err(build_error)?).build());
        self.purposes.push(purpose);
        Ok(())
    }

    /// Puts or deletes an item, on no condition.
    pub fn write(&mut self, write: Write, purpose: Purpose) -> Result<(), StoreError> {
        match write {
            Write::Put(item) => self.put(item, None, purpose),
            Write::Delete(key) => self.delete(key, None, purpose),
        }
    }

    /// Checks `cond` on the item with `key`, writing nothing.
    pub fn check(&mut self, key: Item, cond: Cond, purpose: Purpose) -> Result<(), StoreError> {
        let key = only_key(&key);
        self.claim(&key)?;
        let (expression, names, values) = cond.parts();
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(expression)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        self.items.push(TransactWriteItem::builder().condition_check(check).build());
        self.purposes.push(purpose);
        Ok(())
    }
}

impl Tx {
    /// Updates the item with `key` by `update` (an update expression with its placeholders),
    /// on `cond` if any; the placeholders of both must not clash.
    pub fn update(&mut self, key: Item, update: Cond, cond: Option<Cond>, purpose: Purpose) -> Result<(), StoreError> {
        let key = only_key(&key);
        self.claim(&key)?;
        let (expression, mut names, mut values) = update.parts();
        let condition = cond.map(|cond| {
            let (condition, cond_names, cond_values) = cond.parts();
            names.get_or_insert_with(Names::new).extend(cond_names.unwrap_or_default());
            values.get_or_insert_with(Values::new).extend(cond_values.unwrap_or_default());
            condition
        });
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names.filter(|n| !n.is_empty()))
            .set_expression_attribute_values(values.filter(|v| !v.is_empty()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        self.items.push(TransactWriteItem::builder().update(update).build());
        self.purposes.push(purpose);
        Ok(())
    }
}

/// The reason of the item for `purpose` whose condition failed, if any.
pub fn failed_condition<'a>(reasons: &'a [Reason], purpose: &Purpose) -> Option<&'a Reason> {
    reasons.iter().find(|r| r.purpose == *purpose && r.condition_failed())
}

/// One item's outcome in a cancelled transaction.
#[derive(Debug, Clone)]
pub struct Reason {
    pub purpose: Purpose,
    /// `None` (or "None") when this item was not the cause.
    pub code: Option<String>,
    /// The item as it was, when its condition failed and DynamoDB returned it.
    pub item: Option<Item>,
}

impl Reason {
    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }

    pub fn conflict(&self) -> bool {
        self.code.as_deref() == Some("TransactionConflict")
    }

    pub fn failed(&self) -> bool {
        self.code.as_deref().is_some_and(|c| c != "None")
    }
}
