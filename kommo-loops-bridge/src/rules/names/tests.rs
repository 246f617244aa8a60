//! Stage and pipeline names: resolved, unknown, ambiguous.

use super::*;

fn pipelines() -> Vec<PipelineFacts> {
    let pipeline = |id: u64, name: &str, stages: &[(u64, &str)]| PipelineFacts {
        id,
        name: Some(name.to_owned()),
        statuses: stages
            .iter()
            .map(|(id, name)| (*id, (*name).to_owned()))
            .chain([
                (142, "Closed - won".to_owned()),
                (143, "Closed - lost".to_owned()),
            ])
            .collect(),
    };
    vec![
        pipeline(
            7001,
            "SaaS sales",
            &[(5000, "Incoming"), (5001, "Trial"), (5010, "Demo booked")],
        ),
        pipeline(
            7002,
            "Enterprise",
            &[(6000, "Incoming"), (6010, "Demo Booked")],
        ),
        pipeline(7003, "Partners", &[(8000, "Incoming"), (8001, "Signed")]),
        pipeline(7004, "Partners", &[(9000, "Incoming")]),
    ]
}

fn rules(when: &str) -> Rules {
    Rules::from_toml_str(
        "rules.toml",
        &format!(
            "[[kommo]]\nname = \"r\"\nwhen = {when}\ndo = [ {{ send_event = {{ event = \"e\" }} }} ]\n"
        ),
    )
    .unwrap()
}

/// `Ok((pipeline ids, to ids, from ids))` or the error's text.
type Outcome = Result<(Option<Vec<u64>>, Option<Vec<u64>>, Option<Vec<u64>>), String>;

fn outcome(when: &str) -> Outcome {
    let (resolved, outcomes) = resolve(&rules(when), &pipelines());
    if let Some(err) = outcomes.into_iter().find_map(Result::err) {
        assert!(
            resolved.has_unresolved_names(),
            "{when}: a failed rule stays unresolved"
        );
        return Err(err.to_string());
    }
    assert!(!resolved.has_unresolved_names(), "{when}");
    let w = &resolved.inner.kommo[0].when;
    let ids = |ids: &Option<Ids>| ids.as_ref().map(|i| i.to_vec());
    Ok((ids(&w.pipelines), ids(&w.to), ids(&w.from)))
}

#[test]
fn names_table() {
    let ok = |p: Option<&[u64]>, to: Option<&[u64]>, from: Option<&[u64]>| -> Outcome {
        Ok((
            p.map(<[u64]>::to_vec),
            to.map(<[u64]>::to_vec),
            from.map(<[u64]>::to_vec),
        ))
    };
    let table: Vec<(&str, Outcome)> = vec![
        // Found in one pipeline.
        (r#"{ event = "lead_status", to = "Trial" }"#, ok(None, Some(&[5001]), None)),
        // Ids and names together, and the keywords.
        (
            r#"{ event = "lead_status", to = ["won", 5000, "Trial"], from = "Incoming", pipeline = 7001 }"#,
            ok(Some(&[7001]), Some(&[142, 5000, 5001]), Some(&[5000])),
        ),
        // Case is ignored when no exact match exists.
        (r#"{ event = "lead_status", to = "trial" }"#, ok(None, Some(&[5001]), None)),
        // The system stages have one id in every pipeline: not ambiguous.
        (r#"{ event = "lead_status", to = "Closed - won" }"#, ok(None, Some(&[142]), None)),
        // A pipeline by name narrows the stage.
        (
            r#"{ event = "lead_status", pipeline = "Enterprise", to = "Incoming" }"#,
            ok(Some(&[7002]), Some(&[6000]), None),
        ),
        // The exact spelling wins over another pipeline's different case.
        (r#"{ event = "lead_status", to = "Demo Booked" }"#, ok(None, Some(&[6010]), None)),
        // Several pipelines chosen by the rule: the stage in each.
        (
            r#"{ event = "lead_status", pipeline = [7001, 7002], to = "Incoming" }"#,
            ok(Some(&[7001, 7002]), Some(&[5000, 6000]), None),
        ),
        // Unknown.
        (
            r#"{ event = "lead_status", to = "Demo bookd" }"#,
            Err(r#"rules.toml: [[kommo]] "r": `when.to`: unknown stage "Demo bookd" (stages: "SaaS sales": "#.into()),
        ),
        (
            r#"{ event = "lead_status", pipeline = 7003, to = "Trial" }"#,
            Err(r#"`when.to`: unknown stage "Trial" (stages: "Partners": Incoming, Signed, Closed - won, Closed - lost)"#.into()),
        ),
        (
            r#"{ event = "lead_added", pipeline = "Sales" }"#,
            Err(r#"`when.pipeline`: unknown pipeline "Sales" (pipelines: "SaaS sales" (7001), "Enterprise" (7002)"#.into()),
        ),
        // Ambiguous.
        (
            r#"{ event = "lead_status", to = "Incoming" }"#,
            Err(r#"`when.to`: stage "Incoming" is in 4 pipelines: "SaaS sales" (7001, stage 5000), "Enterprise" (7002, stage 6000), "Partners" (7003, stage 8000), "Partners" (7004, stage 9000); add `pipeline = <id or name>`"#.into()),
        ),
        (
            r#"{ event = "lead_status", to = "demo booked" }"#,
            Err(r#"stage "demo booked" is in 2 pipelines"#.into()),
        ),
        (
            r#"{ event = "lead_added", pipeline = "Partners" }"#,
            Err(r#"`when.pipeline`: pipeline name "Partners" is used by 2 pipelines (7003, 7004): write the id instead"#.into()),
        ),
    ];
    for (when, expected) in table {
        let got = outcome(when);
        match (&got, &expected) {
            (Err(got), Err(fragment)) => assert!(
                got.contains(fragment.as_str()),
                "{when}:\n{got}\nshould contain\n{fragment}"
            ),
            _ => assert_eq!(got, expected, "{when}"),
        }
    }
}

#[test]
fn an_unresolved_rule_never_matches_and_says_why() {
    let rules = rules(r#"{ event = "lead_status", to = "Trial" }"#);
    let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=42&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=5001\
                &leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=7001&account%5Bid%5D=1";
    let payload = kommo_client::webhooks::parse(body.as_bytes()).unwrap();
    let planning = rules.plan_kommo(&payload, &crate::Snapshot::new(), crate::Mode::Live);
    let crate::Planning::Ready(plan) = planning else {
        panic!("nothing is fetched for a rule that cannot match: {planning:?}")
    };
    assert!(plan.actions.is_empty());
    assert!(
        plan.explain[0]
            .reason
            .text()
            .contains("names stages or pipelines not resolved yet"),
        "{:?}",
        plan.explain
    );
}

#[test]
fn explanations_show_the_names() {
    let (resolved, _) = resolve(
        &rules(r#"{ event = "lead_status", to = ["won", "Trial"] }"#),
        &pipelines(),
    );
    assert_eq!(
        &**resolved.inner.kommo[0].when.to.as_ref().unwrap().listed(),
        r#"142, 5001 "Trial""#
    );
}
