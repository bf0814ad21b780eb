//! Znode path rules, exactly as Apache's `PathUtils.validatePath`, and the
//! parent/child split Apache uses everywhere (`lastIndexOf('/')`).

/// Checks a path the way `PathUtils.validatePath` does. Apache works on UTF-16
/// code units, so this does too: every character outside the Basic Multilingual
/// Plane (an emoji, say) is a surrogate pair and is refused.
pub fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("path length must be > 0".to_string());
    }
    if !path.starts_with('/') {
        return Err("path must start with / character".to_string());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("path must not end with / character".to_string());
    }
    // The common case, settled in one pass: printable ASCII without "//" and
    // without "." or ".." components.
    if is_plain_ascii_path(path.as_bytes()) {
        return Ok(());
    }
    // ASCII is its own UTF-16: no conversion.
    if path.is_ascii() {
        check_units(path.as_bytes())
    } else {
        check_units(&path.encode_utf16().collect::<Vec<u16>>())
    }
}

/// Printable ASCII (0x20..=0x7e), no empty component and no "." or ".."
/// component: every rule of `validatePath` holds. `path` starts with '/' and
/// does not end with one (checked before).
fn is_plain_ascii_path(path: &[u8]) -> bool {
    let mut component_start = 1;
    for index in 1..=path.len() {
        let at_end = index == path.len();
        if !at_end {
            let byte = path[index];
            if !(0x20..=0x7e).contains(&byte) {
                return false;
            }
            if byte != b'/' {
                continue;
            }
        }
        let component = &path[component_start..index];
        if component.is_empty() || component == b"." || component == b".." {
            return false;
        }
        component_start = index + 1;
    }
    true
}

/// `validatePath` from its second character on, over UTF-16 code units (or
/// bytes of an ASCII path).
fn check_units<T: Copy + Into<u16>>(units: &[T]) -> Result<(), String> {
    let unit_at = |index: usize| -> u16 { units[index].into() };
    let slash = u16::from(b'/');
    let dot = u16::from(b'.');
    let mut last = slash;
    for index in 1..units.len() {
        let unit = unit_at(index);
        let next_is_end_or_slash = index + 1 == units.len() || unit_at(index + 1) == slash;
        if unit == 0 {
            return Err(format!("null character not allowed @{index}"));
        } else if unit == slash && last == slash {
            return Err(format!("empty node name specified @{index}"));
        } else if unit == dot && last == dot {
            if unit_at(index - 2) == slash && next_is_end_or_slash {
                return Err(format!("relative paths not allowed @{index}"));
            }
        } else if unit == dot {
            if unit_at(index - 1) == slash && next_is_end_or_slash {
                return Err(format!("relative paths not allowed @{index}"));
            }
        } else if (0x0001..=0x001f).contains(&unit)
            || (0x007f..=0x009f).contains(&unit)
            || (0xd800..=0xf8ff).contains(&unit)
            || (0xfff0..=0xffff).contains(&unit)
        {
            return Err(format!("invalid character @{index}"));
        }
        last = unit;
    }
    Ok(())
}

/// Splits at the last '/': ("/a", "b") for "/a/b", ("", "a") for "/a". `None`
/// when there is no slash at all.
pub fn split_parent(path: &str) -> Option<(&str, &str)> {
    // A byte search: no UTF-8 sequence contains the byte '/' except '/'.
    let slash = path.bytes().rposition(|byte| byte == b'/')?;
    Some((&path[..slash], &path[slash + 1..]))
}

/// Apache keys the root both as "" and "/"; keel stores it once, as "/".
pub fn normalize(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, child: &str) -> String {
    if parent == "/" || parent.is_empty() {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_paths() {
        for path in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/..a",
            "/a..",
            "/.a/b.",
            "/é",
            "/zookeeper",
        ] {
            assert_eq!(validate_path(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn invalid_paths() {
        for path in [
            "",
            "a",
            "/a/",
            "//",
            "/a//b",
            "/.",
            "/..",
            "/a/.",
            "/a/../b",
            "/./a",
            "/a\0b",
            "/a\u{1}",
            "/a\u{7f}",
            "/a\u{9f}",
            "/\u{e000}",
            "/\u{fff0}",
            "/\u{1F600}",
        ] {
            assert!(validate_path(path).is_err(), "{path:?}");
        }
    }

    #[test]
    fn split_and_join() {
        assert_eq!(split_parent("/a/b"), Some(("/a", "b")));
        assert_eq!(split_parent("/a"), Some(("", "a")));
        assert_eq!(split_parent("/"), Some(("", "")));
        assert_eq!(split_parent("a"), None);
        assert_eq!(normalize(""), "/");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
