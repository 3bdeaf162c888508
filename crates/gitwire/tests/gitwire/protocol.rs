//! Replays recorded `git upload-pack`/`receive-pack` answers and checks the exact bytes
//! gitwire sends.

use std::collections::HashSet;

use gitwire::pack::PackReader;
use gitwire::protocol::{self, Capabilities, FetchRequest, RefUpdate};
use gitwire::transport::Replay;
use gitwire::{Error, Oid};

const CAPS: &[u8] = include_bytes!("recorded/caps-v2.bin");
const CAPS_V0: &[u8] = include_bytes!("recorded/caps-v0.bin");
const LS_REFS: &[u8] = include_bytes!("recorded/ls-refs.bin");
const FETCH: &[u8] = include_bytes!("recorded/fetch-blob-none.bin");
const NOT_OUR_REF: &[u8] = include_bytes!("recorded/fetch-not-our-ref.bin");
const RECEIVE_ADV: &[u8] = include_bytes!("recorded/receive-adv.bin");
const PUSH_REQ: &[u8] = include_bytes!("recorded/push-req.bin");
const PUSH_OK: &[u8] = include_bytes!("recorded/push-ok.bin");

fn oid(s: &str) -> Oid {
    s.parse().expect("valid id")
}

#[test]
fn capabilities_from_git_2_47() {
    let caps = Capabilities::parse(CAPS, "u").expect("v2");
    assert!(caps.has("ls-refs") && caps.has("fetch") && caps.has("agent"));
    assert!(caps.has_feature("ls-refs", "unborn"));
    assert!(caps.has_feature("fetch", "shallow"));
    let err = Capabilities::parse(CAPS_V0, "http://v0").expect_err("v0 only");
    assert!(matches!(err, Error::ProtocolV2Unsupported(_)), "{err}");
}

#[test]
fn ls_refs_request_bytes_and_response() {
    let caps = Capabilities::parse(CAPS, "u").expect("v2");
    let req = protocol::ls_refs_request(&caps, "gitwire/0.1.0", &["refs/heads/".into()]);
    assert_eq!(req, include_bytes!("recorded/ls-refs-req.bin"));
    let refs = protocol::parse_ls_refs(LS_REFS).expect("valid");
    assert_eq!(refs[0].name, "HEAD");
    assert_eq!(refs[0].symref_target.as_deref(), Some("refs/heads/main"));
    assert_eq!(
        refs[1].oid,
        Some(oid("89055185f4a4a90393351db786b754bbdee1dc3a"))
    );
    let unborn = protocol::parse_ls_refs(b"0032unborn HEAD symref-target:refs/heads/master\n0000")
        .expect("valid");
    assert_eq!(unborn[0].oid, None);
}

#[tokio::test]
async fn fetch_request_bytes_and_replayed_pack() {
    let caps = Capabilities::parse(CAPS, "u").expect("v2");
    let req = FetchRequest {
        wants: vec![oid("89055185f4a4a90393351db786b754bbdee1dc3a")],
        filter: Some("blob:none".into()),
        deepen: Some(1),
    };
    let bytes = protocol::fetch_request(&caps, "gitwire/0.1.0", &req);
    // The same bytes the recorded answer was produced with (server advertises `filter`).
    assert_eq!(bytes, include_bytes!("recorded/fetch-blob-none-req.bin"));
    let mut no_filter = caps.clone();
    no_filter
        .entries
        .insert("fetch".into(), Some("shallow".into()));
    let plain = String::from_utf8(protocol::fetch_request(&no_filter, "gitwire/0.1.0", &req))
        .expect("text");
    assert!(
        !plain.contains("filter"),
        "filter is only sent when advertised"
    );
    for chunk in [1, 7, 4096] {
        let mut pack = PackReader::new(u64::MAX);
        let complete = protocol::read_fetch_response(Replay::new(FETCH, chunk), &mut pack, None)
            .await
            .expect("valid");
        assert!(complete);
        let objects = pack.finish(|_| None).expect("valid pack");
        assert!(objects.contains_key(&oid("89055185f4a4a90393351db786b754bbdee1dc3a")));
        assert!(objects.contains_key(&oid("2b4c1d0c6f3c005f72eb2ecd2eb2a25edecf9a50")));
        assert!(
            !objects.contains_key(&oid("45b983be36b73c0788dc9cbcb76cbb80fc7bb057")),
            "blob:none left blobs out"
        );
    }
    // Early stop: reading ends once the wanted object is in.
    let mut pack = PackReader::new(u64::MAX);
    let wanted: HashSet<Oid> = [oid("89055185f4a4a90393351db786b754bbdee1dc3a")].into();
    let complete = protocol::read_fetch_response(Replay::new(FETCH, 16), &mut pack, Some(&wanted))
        .await
        .expect("valid");
    assert!(!complete);
}

#[tokio::test]
async fn not_our_ref_is_not_found() {
    let mut pack = PackReader::new(u64::MAX);
    let err = protocol::read_fetch_response(Replay::new(NOT_OUR_REF, 64), &mut pack, None)
        .await
        .expect_err("ERR");
    assert_eq!(err.kind(), gitwire::ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn push_request_bytes_and_report() {
    let adv = protocol::parse_receive_advertisement(RECEIVE_ADV).expect("valid");
    assert_eq!(
        adv.refs.get("refs/heads/main"),
        Some(&oid("89055185f4a4a90393351db786b754bbdee1dc3a"))
    );
    assert!(adv.capabilities.contains("atomic") && adv.capabilities.contains("side-band-64k"));
    let update = RefUpdate {
        name: "refs/heads/copy".into(),
        old: None,
        new: Some(oid("89055185f4a4a90393351db786b754bbdee1dc3a")),
    };
    let mut body = protocol::receive_pack_commands(
        &[update],
        &["report-status", "side-band-64k", "agent=gitwire/0.1.0"],
    );
    body.extend(
        gitwire::pack::PackWriter::new(Vec::new(), 0)
            .expect("vec")
            .finish()
            .expect("vec"),
    );
    assert_eq!(body, PUSH_REQ);
    let report = protocol::read_push_response(Replay::new(PUSH_OK, 5), true)
        .await
        .expect("valid");
    assert_eq!(report.unpack_error, None);
    assert_eq!(report.refs, vec![("refs/heads/copy".to_owned(), None)]);
}
