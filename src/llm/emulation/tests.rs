//! Unit tests of the text tool-call emulation: the exact prompt text and the reply parser.

use expect_test::expect;
use serde_json::json;

use super::*;

fn bash_tool() -> ToolSpec {
    ToolSpec {
        name: "execute_bash".into(),
        description: "Run a command.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "command": { "type": "string", "description": "The command." },
                "timeout": { "type": "integer" },
                "is_input": { "type": "string", "description": "Input to a running process.", "enum": ["true", "false"] },
            },
            "required": ["command"],
        }),
    }
}

#[test]
fn system_suffix_is_openhands_text() {
    expect![[r#"

        You have access to the following functions:

        ---- BEGIN FUNCTION #1: execute_bash ----
        Description: Run a command.
        Parameters:
          (1) command (string, required): The command.
          (2) timeout (integer, optional): No description provided
          (3) is_input (string, optional): Input to a running process.
        Allowed values: [`true`, `false`]
        ---- END FUNCTION #1 ----


        If you choose to call a function ONLY reply in the following format with NO suffix:

        <function=example_function_name>
        <parameter=example_parameter_1>value_1</parameter>
        <parameter=example_parameter_2>
        This is the value for the second parameter
        that can span
        multiple lines
        </parameter>
        </function>

        <IMPORTANT>
        Reminder:
        - Function calls MUST follow the specified format, start with <function= and end with </function>
        - Required parameters MUST be specified
        - Only call one function at a time
        - You may provide optional reasoning for your function call in natural language BEFORE the function call, but NOT after.
        - If there is no function call available, answer the question like normal with your current knowledge and do not tell the user about function calls
        </IMPORTANT>

        <EXAMPLE>
        A made-up exchange showing the format at work (its task is not yours):

        USER: How many TODO comments are left in src/main.rs?

        ASSISTANT: Counting them with grep is quickest.
        <function=execute_bash>
        <parameter=command>grep -c TODO src/main.rs</parameter>
        </function>

        USER: EXECUTION RESULT of [execute_bash]:
        3

        One call per message, each waiting for the result of the one before.
        </EXAMPLE>
    "#]]
    .assert_eq(&system_suffix(&[bash_tool()]));
}

#[test]
fn history_becomes_text() {
    let mut assistant = Message::new(Role::Assistant, "Let me look.");
    assistant.tool_calls.push(ToolCall {
        id: "toolu_01".into(),
        name: "execute_bash".into(),
        arguments: r#"{"command":"ls -a","timeout":5,"extra":[1,2]}"#.into(),
    });
    let mut result = Message::new(Role::Tool, "a\nb");
    result.name = Some("execute_bash".into());
    result.tool_call_id = Some("toolu_01".into());
    let messages = [
        Message::new(Role::System, "SYS"),
        Message::new(Role::User, "hi"),
        assistant,
        result,
    ];
    let converted = to_text_messages(&messages, &[bash_tool()]);
    let shown: Vec<String> = converted
        .iter()
        .skip(1)
        .map(|m| format!("{:?}: {}", m.role, m.content))
        .collect();
    expect![[r#"
        User: hi

        (Format reminder: each of your messages holds at most one <function=...> call, placed last. Stop right after its </function> and wait: its result arrives in the next message.)
        ---
        Assistant: Let me look.

        <function=execute_bash>
        <parameter=command>ls -a</parameter>
        <parameter=timeout>5</parameter>
        <parameter=extra>[1,2]</parameter>
        </function>
        ---
        User: EXECUTION RESULT of [execute_bash]:
        a
        b"#]]
    .assert_eq(&shown.join("\n---\n"));
    assert!(
        converted[0]
            .content
            .starts_with("SYS\nYou have access to the following functions:")
    );
    assert!(converted.iter().all(|m| m.tool_calls.is_empty()));
}

#[test]
fn reply_round_trips() {
    let call = ToolCall {
        id: "x".into(),
        name: "execute_bash".into(),
        arguments: json!({ "command": "cat <<EOF\nhi\nEOF", "timeout": 30 }).to_string(),
    };
    let text = format!("I will run it.\n{}", call_to_text(&call));
    let (content, calls) = parse_reply(&text, &[bash_tool()], 3);
    assert_eq!(content, "I will run it.");
    assert_eq!(
        calls,
        vec![ToolCall {
            id: "toolu_03".into(),
            ..call
        }]
    );
}

#[test]
fn reply_variants() {
    let tools = [bash_tool()];
    let cases = [
        "no call here",
        // Cut by the `</function` stop word; multi-line value.
        "Running.\n<function=execute_bash>\n<parameter=command>\npwd && ls\n</parameter>\n",
        // `_normalize_parameter_tags`, and a timeout that is not an integer.
        "<function=execute_bash>\n<parameter=command=ls</parameter>\n<parameter=timeout>soon</parameter>\n</function>",
        // Unknown tool, then a second call.
        "<function=fly>\n<parameter=to>moon</parameter>\n</function>\n<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>",
        // Malformed: no `>` after the name, unclosed parameter.
        "<function=execute_bash\n",
        "<function=execute_bash>\n<parameter=command>ls -l",
    ];
    let shown: Vec<String> = cases
        .iter()
        .map(|case| {
            let (content, calls) = parse_reply(case, &tools, 1);
            let calls: Vec<String> = calls
                .iter()
                .map(|c| format!("{} {} {}", c.id, c.name, c.arguments))
                .collect();
            format!("{content:?} | {}", calls.join(" ; "))
        })
        .collect();
    expect![[r#"
        "no call here" | 
        "Running." | toolu_01 execute_bash {"command":"pwd && ls"}
        "" | toolu_01 execute_bash {"command":"ls","timeout":"soon"}
        "" | toolu_01 fly {"to":"moon"} ; toolu_02 execute_bash {"command":"ls"}
        "" | toolu_01 execute_bash {}
        "" | toolu_01 execute_bash {"command":"ls -l"}"#]]
    .assert_eq(&shown.join("\n"));
}

#[test]
fn text_gate_hides_markup_split_anywhere() {
    let reply = "Let me <b>see</b>.\n<function=execute_bash>\n<parameter=command>ls</parameter>";
    for split in 1..reply.len() {
        let mut gate = TextGate::default();
        let mut shown = gate.push(&reply[..split]);
        shown.push_str(&gate.push(&reply[split..]));
        shown.push_str(&gate.finish());
        assert_eq!(shown, "Let me <b>see</b>.\n", "split at {split}");
    }
    let mut gate = TextGate::default();
    assert_eq!(gate.push("a <fun"), "a ");
    assert_eq!(gate.finish(), "<fun");
}

#[test]
fn emulated_messages_keep_their_images() {
    let mut result = Message::new(Role::Tool, "The image a.png is attached.");
    result.name = Some("str_replace_editor".into());
    result.images = vec!["data:image/png;base64,AAAA".into()];
    let out = to_text_messages(&[result], &[]);
    assert_eq!(out[0].role, Role::User);
    assert_eq!(out[0].images, vec!["data:image/png;base64,AAAA".to_owned()]);
}
