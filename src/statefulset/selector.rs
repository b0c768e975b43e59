//! `metav1.LabelSelector` → selector matching, as `metav1.LabelSelectorAsSelector` does (ref §1.5).
//!
//! A nil selector matches nothing; an empty one matches everything; an invalid operator or a
//! missing/extra `values` list is an error (upstream: "invalid selector", not retried).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// An invalid label selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector: {0}")]
pub struct SelectorError(pub String);

/// Validate a selector the way `LabelSelectorAsSelector` would.
pub fn validate(sel: &LabelSelector) -> Result<(), SelectorError> {
    for req in sel.match_expressions.iter().flatten() {
        let n = req.values.as_ref().map_or(0, Vec::len);
        match req.operator.as_str() {
            "In" | "NotIn" if n == 0 => {
                return Err(SelectorError(format!(
                    "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty (key {})",
                    req.key
                )));
            }
            "In" | "NotIn" => {}
            "Exists" | "DoesNotExist" if n != 0 => {
                return Err(SelectorError(format!(
                    "values: Invalid value: for 'exists', 'doesnotexist' operators, values set must be empty (key {})",
                    req.key
                )));
            }
            "Exists" | "DoesNotExist" => {}
            op => {
                return Err(SelectorError(format!("{op:?} is not a valid label selector operator")));
            }
        }
    }
    Ok(())
}

/// `selector.Matches(labels.Set(labels))`. `None` selector ⇒ matches nothing.
pub fn matches(sel: Option<&LabelSelector>, labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(sel) = sel else { return false };
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    for (k, v) in sel.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for req in sel.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or(&[]);
        let got = labels.get(&req.key);
        let ok = match req.operator.as_str() {
            "In" => got.is_some_and(|g| values.contains(g)),
            "NotIn" => got.is_none_or(|g| !values.contains(g)),
            "Exists" => got.is_some(),
            "DoesNotExist" => got.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}
