use super::*;

fn reply(status: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeResponse xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">
  <imsx_POXHeader>
    <imsx_POXResponseHeaderInfo>
      <imsx_version>V1.0</imsx_version>
      <imsx_messageIdentifier>4560</imsx_messageIdentifier>
      <imsx_statusInfo>{status}</imsx_statusInfo>
    </imsx_POXResponseHeaderInfo>
  </imsx_POXHeader>
  <imsx_POXBody>{body}</imsx_POXBody>
</imsx_POXEnvelopeResponse>"#
    )
}

fn status(code: &str, description: &str) -> String {
    format!(
        "<imsx_codeMajor>{code}</imsx_codeMajor><imsx_severity>status</imsx_severity>\
         <imsx_description>{description}</imsx_description>\
         <imsx_messageRefIdentifier>msg-1</imsx_messageRefIdentifier>\
         <imsx_operationRefIdentifier>replaceResult</imsx_operationRefIdentifier>"
    )
}

#[test]
fn scores_normalise_and_out_of_range_is_refused() {
    assert_eq!(Score::normalise(46.0, 50.0).unwrap().value(), 0.92);
    assert_eq!(Score::normalise(0.0, 10.0).unwrap().to_text(), "0.0");
    assert_eq!(Score::normalise(10.0, 10.0).unwrap().to_text(), "1.0");
    assert_eq!(Score::normalise(46.0, 50.0).unwrap().to_text(), "0.92");
    assert_eq!(Score::normalise(1.0, 3.0).unwrap().to_text(), "0.33333333");
    assert_eq!(Score::fraction(1e-12).unwrap().to_text(), "0.0");
    for (g, m) in [(11.0, 10.0), (-0.1, 10.0), (1.0, 0.0), (1.0, -5.0), (f64::NAN, 1.0), (1.0, f64::INFINITY)] {
        assert!(matches!(Score::normalise(g, m), Err(OutcomeError::ScoreInvalid(_))), "{g}/{m}");
    }
    for v in [1.0000001, -0.0000001, f64::NAN] {
        assert!(matches!(Score::fraction(v), Err(OutcomeError::ScoreInvalid(_))), "{v}");
    }
}

#[test]
fn replace_result_request_has_the_pox_shape_and_escapes_text() {
    let xml =
        replace_result("msg<1>", "{\"a\":\"b&c\"}", Score::fraction(0.5).unwrap(), Some("Essay: <b>5</b> & more\u{1}"))
            .unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<imsx_POXEnvelopeRequest xmlns=\"http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0\">"));
    assert!(
        xml.contains("<imsx_version>V1.0</imsx_version><imsx_messageIdentifier>msg&lt;1&gt;</imsx_messageIdentifier>")
    );
    assert!(xml.contains(
        "<replaceResultRequest><resultRecord><sourcedGUID><sourcedId>{&quot;a&quot;:&quot;b&amp;c&quot;}</sourcedId></sourcedGUID>\
         <result><resultScore><language>en</language><textString>0.5</textString></resultScore>\
         <resultData><text>Essay: &lt;b&gt;5&lt;/b&gt; &amp; more\u{fffd}</text></resultData></result></resultRecord></replaceResultRequest>"
    ));
    assert!(xml.ends_with("</imsx_POXEnvelopeRequest>"));
    assert!(!replace_result("m", "s", Score::fraction(0.5).unwrap(), None).unwrap().contains("resultData"));
}

#[test]
fn read_and_delete_requests() {
    let r = read_result("m-2", "sid").unwrap();
    assert!(r.contains("<readResultRequest><resultRecord><sourcedGUID><sourcedId>sid</sourcedId></sourcedGUID></resultRecord></readResultRequest>"));
    let d = delete_result("m-3", "sid").unwrap();
    assert!(d.contains("<deleteResultRequest><resultRecord><sourcedGUID><sourcedId>sid</sourcedId></sourcedGUID></resultRecord></deleteResultRequest>"));
}

#[test]
fn empty_or_oversized_identifiers_are_refused() {
    assert_eq!(read_result("", "sid").unwrap_err(), OutcomeError::FieldInvalid("message_identifier"));
    assert_eq!(read_result("m", "  ").unwrap_err(), OutcomeError::FieldInvalid("lis_result_sourcedid"));
    assert_eq!(
        read_result("m", &"s".repeat(MAX_ID_LEN + 1)).unwrap_err(),
        OutcomeError::FieldInvalid("lis_result_sourcedid")
    );
    let big = "x".repeat(MAX_RESULT_DATA + 1);
    assert_eq!(
        replace_result("m", "s", Score::fraction(0.1).unwrap(), Some(&big)).unwrap_err(),
        OutcomeError::FieldInvalid("resultData")
    );
}

#[test]
fn success_reply_is_read() {
    let r =
        parse_reply(&reply(&status("success", "Score for 3124567 is now 0.92"), "<replaceResultResponse/>")).unwrap();
    assert_eq!(r.code_major, CodeMajor::Success);
    assert_eq!(r.description.as_deref(), Some("Score for 3124567 is now 0.92"));
    assert_eq!(r.message_ref.as_deref(), Some("msg-1"));
    assert_eq!(r.operation.as_deref(), Some("replaceResult"));
    assert_eq!(r.score, None);
}

#[test]
fn read_result_reply_carries_the_score_or_none() {
    let body = "<readResultResponse><result><resultScore><language>en</language><textString> 0.91 </textString></resultScore></result></readResultResponse>";
    assert_eq!(parse_reply(&reply(&status("success", "ok"), body)).unwrap().score, Some(0.91));
    let empty = "<readResultResponse><result><resultScore><language>en</language><textString/></resultScore></result></readResultResponse>";
    assert_eq!(parse_reply(&reply(&status("success", "ok"), empty)).unwrap().score, None);
    let bad = body.replace("0.91", "1.5");
    assert!(matches!(parse_reply(&reply(&status("success", "ok"), &bad)), Err(OutcomeError::ReplyMalformed(_))));
}

#[test]
fn failure_and_unsupported_replies_are_errors_with_the_description() {
    let err = parse_reply(&reply(&status("failure", "Result &lt;sourcedId&gt; not found &amp; gone"), "")).unwrap_err();
    assert_eq!(
        err,
        OutcomeError::PlatformFailure {
            code_major: "failure".into(),
            description: "Result <sourcedId> not found & gone".into()
        }
    );
    let err = parse_reply(&reply(&status("unsupported", "deleteResult is not supported"), "")).unwrap_err();
    assert!(matches!(err, OutcomeError::PlatformFailure { code_major, .. } if code_major == "unsupported"));
}

#[test]
fn prefixes_comments_cdata_attributes_and_char_refs_are_tolerated() {
    let xml = r#"<?xml version="1.0"?><!-- hi --><ims:imsx_POXEnvelopeResponse xmlns:ims="urn:x" a='1>2'>
        <ims:imsx_POXHeader><ims:imsx_POXResponseHeaderInfo><ims:imsx_statusInfo>
        <ims:imsx_codeMajor > Success </ims:imsx_codeMajor>
        <ims:imsx_description><![CDATA[a <b> & c]]>&#233;&#x4E2D;</ims:imsx_description>
        </ims:imsx_statusInfo></ims:imsx_POXResponseHeaderInfo></ims:imsx_POXHeader>
        <ims:imsx_POXBody/></ims:imsx_POXEnvelopeResponse>"#;
    let r = parse_reply(xml).unwrap();
    assert_eq!(r.code_major, CodeMajor::Success);
    assert_eq!(r.description.as_deref(), Some("a <b> & cé中"));
}

#[test]
fn doctype_and_entity_declarations_are_refused() {
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        reply(&status("success", "&x;"), "").trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
    );
    assert_eq!(parse_reply(&xxe).unwrap_err(), OutcomeError::ReplyDoctype);
    let inner = reply(&status("success", "<!ENTITY y \"z\">"), "");
    assert_eq!(parse_reply(&inner).unwrap_err(), OutcomeError::ReplyDoctype);
}

#[test]
fn unreadable_replies_are_refused() {
    let big = reply(&status("success", &"x".repeat(MAX_REPLY_BYTES)), "");
    assert_eq!(parse_reply(&big).unwrap_err(), OutcomeError::ReplyTooLarge(MAX_REPLY_BYTES));
    let cases = [
        ("", "unterminated document"),
        ("<html><body>502 Bad Gateway</body></html>", "not an imsx_POXEnvelopeResponse"),
        ("not xml at all", "text outside the root element"),
        (&reply(&status("success", "x"), "<a></b>"), "mismatched tags"),
        (&reply(&status("success", "x"), "<a>"), "mismatched tags"),
        (&reply("<imsx_severity>status</imsx_severity>", ""), "imsx_codeMajor missing"),
        (&reply(&status("great", "x"), ""), "imsx_codeMajor unknown"),
        (&reply(&status("success", "&nbsp;"), ""), "bad entity"),
        (&reply(&status("success", "&#0;"), ""), "bad entity"),
        (&reply(&status("success", "a & b"), ""), "bad entity"),
        (&format!("{}<again/>", reply(&status("success", "x"), "")), "several root elements"),
        (&format!("{}<a", "<imsx_POXEnvelopeResponse>"), "unterminated start tag"),
        ("<imsx_POXEnvelopeResponse>", "unterminated document"),
        (&format!("<imsx_POXEnvelopeResponse>{}", "<a>".repeat(40)), "nested too deep"),
    ];
    for (xml, why) in cases {
        assert_eq!(parse_reply(xml).unwrap_err(), OutcomeError::ReplyMalformed(why), "{xml:.80}");
    }
}
