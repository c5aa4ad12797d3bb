//! Bad input, answered in the user's terms: one test per class of message
//! that once leaked serde's or Rust's words (issue 18), through
//! [`Document::from_json`] (every kind) and links. Each asserts the field
//! path and the reason.

use kexec_common::codec;
use kexec_common::input::MAX_SCENARIO_BYTES;
use kexec_common::{InputError, Kind};
use kexec_core::KimageKind;
use kexec_lab_hotplug::Hotplug;
use kexec_lab_pgtable::Pgtable;
use kexec_lab_placement::Placement;
use kexec_playground::{link, Document};

fn preset_json<K: Kind>(name: &str) -> String {
    let p = K::presets()
        .into_iter()
        .find(|p| p.name == name)
        .expect("preset");
    K::to_json_pretty(&p.scenario)
}

fn kimage() -> String {
    preset_json::<KimageKind>("swap-path")
}

fn err(text: &str) -> InputError {
    Document::from_json(text).unwrap_err()
}

/// `err(text)` is about `field` and says `why`.
#[track_caller]
fn says(text: &str, field: &str, why: &str) {
    let e = err(text);
    assert_eq!(e.field, field, "{e}");
    assert!(e.message.contains(why), "{e}\nwanted: {why}");
    for leak in [
        "usize",
        "u32",
        "u64",
        "struct ",
        "Spec",
        "File",
        "`",
        " at line ",
    ] {
        assert!(!e.message.contains(leak), "{leak:?} in {e}");
    }
}

#[test]
fn a_value_of_the_wrong_type_names_its_field_and_the_valid_form() {
    // Was: `invalid type: map, expected a non-negative integer or a "0x…"
    // string at line 14 column 8`.
    let t = kimage().replacen("\"start\": \"0x0\"", "\"start\": {\"lo\": 0}", 1);
    says(
        &t,
        "ram[0].start",
        "{\"lo\": 0} is not a number: an integer, or a string such as \"0x1000\"",
    );
    // Was: invalid type: integer `1`, expected a string.
    let t = kimage().replacen("\"arch\": \"i386\"", "\"arch\": 1", 1);
    says(&t, "arch", "1 is not a string in double quotes");
    let t =
        preset_json::<Pgtable>("pgtable-stale-pde").replacen("\"cpus\": 2", "\"cpus\": true", 1);
    says(&t, "cpus", "true is not a whole number, 0 or more");
}

#[test]
fn a_negative_number_names_its_field() {
    // Was: `-9223… is negative at line 1 column 989`.
    let t = kimage().replacen("\"bufsz\": 8192", "\"bufsz\": -9223372036854775808", 1);
    says(
        &t,
        "segments[0].bufsz",
        "-9223372036854775808 is negative: sizes and addresses are 0 or more",
    );
    let t = preset_json::<Placement>("movable-node-top").replacen("\"node\": 1", "\"node\": -1", 1);
    says(
        &t,
        "ram[3].node",
        "-1 is not a whole number from 0 to 4294967295",
    );
}

#[test]
fn no_rust_type_names() {
    // Was: `expected usize`, `expected struct AllocatorSpec`, `expected
    // struct RangeSpec`.
    let t = preset_json::<Pgtable>("pgtable-stale-pde").replacen("\"cpus\": 2", "\"cpus\": -2", 1);
    says(&t, "cpus", "-2 is not a whole number, 0 or more");
    let t = kimage().replacen("\"allocator\": {", "\"allocator\": 5, \"x\": {", 1);
    says(
        &t,
        "allocator",
        "5 is not an object { … } with the fields policy, seed, replay, source_gfp",
    );
    let t = kimage().replacen("\"ram\": [", "\"ram\": [\"0x0-0x1000\", ", 1);
    says(
        &t,
        "ram[0]",
        "\"0x0-0x1000\" is not an object { … } with the fields start, end",
    );
    let t = preset_json::<Hotplug>("hotplug-rfc-10g").replacen("\"add\": [", "\"add\": [7, ", 1);
    says(
        &t,
        "add[0]",
        "7 is not an object { … } with the fields start, size, node, online, range_size",
    );
}

#[test]
fn numbers_are_shown_as_written() {
    // Was: 2^64 shown as 18446744073709552000, 4096.0 as 4096.
    let t = kimage().replacen("\"memsz\": 8192", "\"memsz\": 18446744073709551616", 1);
    says(
        &t,
        "segments[0].memsz",
        "18446744073709551616 does not fit in 64 bits",
    );
    let t = kimage().replacen("\"memsz\": 8192", "\"memsz\": 4096.0", 1);
    says(&t, "segments[0].memsz", "4096.0 is not an integer");
    let t = kimage().replacen("\"memsz\": 8192", "\"memsz\": 4.096e3", 1);
    says(&t, "segments[0].memsz", "4.096e3 is not an integer");
}

#[test]
fn an_unknown_arch_lists_every_arch() {
    // Was: `unknown arch "arm64"` listing the arches without arm-lpae.
    let t = kimage().replacen("\"arch\": \"i386\"", "\"arch\": \"arm64\"", 1);
    says(
        &t,
        "arch",
        "unknown arch \"arm64\" (valid: i386, i386-pae, x86_64, arm-lpae)",
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    // Was: `expected value at line 1 column 1`.
    for text in [
        kimage(),
        preset_json::<Placement>("movable-node-top"),
        preset_json::<Hotplug>("hotplug-rfc-10g"),
        preset_json::<Pgtable>("pgtable-stale-pde"),
    ] {
        let with_bom = format!("\u{feff}{text}");
        assert_eq!(
            Document::from_json(&with_bom).unwrap(),
            Document::from_json(&text).unwrap()
        );
    }
}

#[test]
fn sizes_are_in_units() {
    // Was: a 70 MB file reported as 67108864 bytes.
    let big = format!("{}{}", kimage(), " ".repeat(MAX_SCENARIO_BYTES));
    let e = err(&big);
    assert_eq!(e.field, "");
    assert_eq!(
        e.message,
        "the scenario is 32.0 MiB; at most 32 MiB are read"
    );
    let huge = format!("#s=1.{}", "A".repeat(codec::MAX_LINK_BYTES + 1));
    let e = link::decode_document(&huge).unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.message.as_str()),
        ("link", "4.0 MiB; links of at most 4 MiB are decoded")
    );
}

#[test]
fn long_strings_are_cut() {
    // Was: a 1 MB string in `kind` or `arch` echoed back whole.
    let long = "z".repeat(1 << 20);
    let cut = format!("\"{}…\" (1 MiB)", "z".repeat(40));
    let t = kimage().replacen("\"arch\": \"i386\"", &format!("\"arch\": \"{long}\""), 1);
    says(&t, "arch", &format!("unknown arch {cut} (valid: i386"));
    assert!(err(&t).to_string().len() < 200);
    let t = kimage().replacen("{", &format!("{{\"kind\": \"{long}\","), 1);
    says(
        &t,
        "kind",
        &format!(
            "{cut} is not a kind this build reads (valid: kimage, placement, hotplug, pgtable)"
        ),
    );
    let t = kimage().replacen("{", &format!("{{\"kind\": [\"{long}\"],"), 1);
    says(
        &t,
        "kind",
        &format!("[\"{}… (1.0 MiB) is not a kind", "z".repeat(38)),
    );
    for (name, text) in [
        ("placement", preset_json::<Placement>("movable-node-top")),
        ("hotplug", preset_json::<Hotplug>("hotplug-rfc-10g")),
        ("pgtable", preset_json::<Pgtable>("pgtable-stale-pde")),
    ] {
        let t = text.replacen("\"x86_64\"", &format!("\"{long}\""), 1);
        let e = err(&t);
        assert_eq!(e.field, "arch", "{name}: {e}");
        assert!(e.message.contains(&cut), "{name}: {e}");
        assert!(e.to_string().len() < 200, "{name}: {e}");
        let t = text.replacen(
            "\"variants\": [",
            &format!("\"variants\": [\"{long}\", "),
            1,
        );
        let e = err(&t);
        assert_eq!(e.field, "variants[0]", "{name}: {e}");
        assert!(
            e.message.starts_with(&format!("unknown variant {cut}")),
            "{name}: {e}"
        );
    }
    let e = link::decode_document(&format!("?preset={long}")).unwrap_err();
    assert!(e.message.starts_with(&format!("no preset {cut}")), "{e}");
}

#[test]
fn a_list_at_the_top_is_not_a_scenario() {
    // Was: `kind: [[…]] is not a kind this build reads`.
    let e = err("[[\"kimage\"]]");
    assert_eq!(e.field, "");
    assert_eq!(
        e.message,
        "the text is a JSON list [ … ], not a scenario: a scenario is a JSON object { \"version\": 1, … }"
    );
    let f = format!("#{}", codec::fragment("[[\"placement\"]]"));
    assert_eq!(link::decode_document(&f).unwrap_err(), e);
    assert_eq!(kexec_core::link::decode(&f).unwrap_err(), e);
    assert!(err("17").message.starts_with("the text is a JSON number"));
}

#[test]
fn fields_unknown_missing_or_twice_are_named() {
    let t = preset_json::<Placement>("movable-node-top").replacen("\"mode\"", "\"mdoe\"", 1);
    says(
        &t,
        "",
        "unknown field \"mdoe\" (valid: version, kind, arch, ram, reserved, movable_node, crashkernel, crashkernel_low, mode, buffers, memory_block_size, variants)",
    );
    let t = preset_json::<Hotplug>("hotplug-rfc-10g").replacen("\"size\"", "\"sise\"", 1);
    says(
        &t,
        "add[0]",
        "unknown field \"sise\" (valid: start, size, node, online, range_size)",
    );
    let t =
        preset_json::<Placement>("movable-node-top").replacen("\"kernel\": ", "\"kernel_\": ", 1);
    says(&t, "buffers", "unknown field \"kernel_\"");
    let t = preset_json::<Pgtable>("pgtable-stale-pde").replacen("\"script\"", "\"scrip\"", 1);
    says(&t, "", "unknown field \"scrip\"");
    let t = kimage().replacen("\"mem\": \"0x1000000\",", "", 1);
    says(&t, "segments[0].mem", "missing (a required field)");
    let t = kimage().replacen(
        "\"arch\": \"i386\",",
        "\"arch\": \"i386\", \"arch\": \"x86_64\",",
        1,
    );
    says(&t, "arch", "given twice");
}

#[test]
fn broken_json_says_where() {
    let t = kimage().replacen("\"mem\": \"0x1000000\",", "\"mem\": \"0x1000000\"", 1);
    let e = err(&t);
    assert_eq!(e.field, "segments[0]", "{e}");
    assert!(
        e.message.starts_with("not valid JSON at line ")
            && e.message.ends_with("expected \",\" or \"}\""),
        "{e}"
    );
    let deep = format!("{{\"version\": 1, \"ram\": {}", "[".repeat(100_000));
    let e = err(&deep);
    assert!(e.field.starts_with("ram[0][0][0]"), "{e}");
    assert!(
        e.message.ends_with("nested more than 128 levels deep"),
        "{e}"
    );
}
