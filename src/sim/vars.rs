//! Channel variables in FreeSWITCH's order: setting a variable appends it at the end (an existing
//! one moves there), an empty value removes it. Multi-valued variables are kept in the plain form
//! `ARRAY::a|:b`, which the ESL encoder turns into JSON arrays and repeated XML elements.

#[derive(Clone, Debug, Default)]
pub(crate) struct Vars(Vec<(String, String)>);

impl Vars {
    pub(crate) fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        self.0.retain(|(n, _)| n != name);
        if !value.is_empty() && !name.is_empty() {
            self.0.push((name.to_owned(), value));
        }
    }

    pub(crate) fn unset(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Appends to a multi-valued variable (`DP_MATCH`), creating it if needed.
    pub(crate) fn push_array(&mut self, name: &str, value: &str) {
        let combined = match self.get(name) {
            Some(existing) if existing.starts_with("ARRAY::") => format!("{existing}|:{value}"),
            Some(existing) => format!("ARRAY::{existing}|:{value}"),
            None => value.to_owned(),
        };
        self.set(name, combined);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_moves_to_the_end_and_empty_removes() {
        let mut v = Vars::default();
        v.set("a", "1");
        v.set("b", "2");
        v.set("a", "3");
        assert_eq!(v.iter().collect::<Vec<_>>(), [("b", "2"), ("a", "3")]);
        v.set("b", "");
        assert_eq!(v.get("b"), None);
        v.push_array("DP_MATCH", "7000");
        v.push_array("DP_MATCH", "7000");
        assert_eq!(v.get("DP_MATCH"), Some("ARRAY::7000|:7000"));
    }
}
