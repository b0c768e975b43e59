//! Manifest loading, validation and watching: the seed manifests, a `kubectl get -o yaml` dump,
//! JSON, and files changed under a live watch.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ordinal::manifest::{self, Document, FieldErrorKind, ManifestError, Object};

fn seed(name: &str) -> PathBuf {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seeds").join(name);
    if local.exists() { local } else { PathBuf::from("/work/shared/fixtures/seeds").join(name) }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn load(name: &str, text: &str) -> Result<Vec<Document>, Vec<ManifestError>> {
    manifest::load_str(Path::new(name), text)
}

/// The errors of a file that must fail, as displayed.
fn errors(name: &str, text: &str) -> Vec<String> {
    match load(name, text) {
        Ok(docs) => panic!("expected errors, loaded {docs:#?}"),
        Err(errs) => errs.iter().map(ToString::to_string).collect(),
    }
}

fn ok(name: &str, text: &str) -> Vec<Document> {
    load(name, text).unwrap_or_else(|errs| panic!("{name} failed: {errs:#?}"))
}

// ---- the seeds ----

#[test]
fn kubia_is_rejected_with_selector_and_misplaced_volume_mounts() {
    let path = seed("kubia.yaml");
    let errs = manifest::load_file(&path).expect_err("kubia.yaml must not load");
    let summary: Vec<(Option<usize>, Option<&str>)> = errs.iter().map(|e| (e.line, e.field.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (Some(21), Some("spec.selector")),
            (Some(26), Some("spec.template.metadata.labels")),
            (Some(35), Some("spec.template.spec.volumeMounts")),
        ]
    );
    assert!(errs.iter().all(|e| e.file == path));
    let shown: Vec<String> =
        errs.iter().map(|e| e.to_string().replace(&format!("{}:", path.display()), "kubia.yaml:")).collect();
    assert_eq!(shown[0], r#"kubia.yaml:21: StatefulSet.apps "kubia" is invalid: spec.selector: Required value"#);
    assert_eq!(
        shown[1],
        r#"kubia.yaml:26: StatefulSet.apps "kubia" is invalid: spec.template.metadata.labels: Invalid value: {"app":"kubia"}: `selector` does not match template `labels`"#
    );
    assert_eq!(
        shown[2],
        r#"kubia.yaml:35: StatefulSet.apps "kubia": spec.template.spec.volumeMounts: unknown field "volumeMounts"; volumeMounts is a container field: move it into a container, under spec.template.spec.containers[*].volumeMounts"#
    );
}

#[test]
fn the_other_seeds_load_and_validate_cleanly() {
    type Row<'a> = (usize, &'a str, &'a str, Option<&'a str>);
    let expect: &[(&str, &[Row])] = &[
        ("web.yaml", &[(5, "Service", "nginx", None), (19, "StatefulSet", "web", None)]),
        (
            "mysql.yaml",
            &[
                (4, "Namespace", "p1-dev", None),
                (9, "Service", "mysqlservice", Some("p1-dev")),
                (22, "Service", "mysql-read", Some("p1-dev")),
                (34, "StatefulSet", "mysql", Some("p1-dev")),
            ],
        ),
        (
            "redis-cluster.yaml",
            &[
                (4, "ConfigMap", "redis-cluster", None),
                (18, "StatefulSet", "redis-cluster", None),
                (69, "Service", "redis-cluster", None),
            ],
        ),
        (
            "zookeeper.yaml",
            &[
                (3, "Service", "zookeeper-server", None),
                (19, "Service", "zookeeper", None),
                (32, "StatefulSet", "zookeeper", None),
            ],
        ),
    ];
    for (file, objects) in expect {
        let docs = manifest::load_file(&seed(file)).unwrap_or_else(|e| panic!("{file}: {e:#?}"));
        let got: Vec<(usize, &str, &str, Option<&str>)> =
            docs.iter().map(|d| (d.line, d.object.kind(), d.object.name(), d.object.namespace())).collect();
        assert_eq!(&got, objects, "{file}");
        for d in &docs {
            assert!(manifest::validate(&d.object).is_empty(), "{file}: {:?}", manifest::validate(&d.object));
            assert!(d.warnings.is_empty(), "{file}: {:?}", d.warnings);
        }
    }
}

#[test]
fn discover_then_load_the_seed_directory_skips_only_kubia() {
    let dir = seed("web.yaml").parent().unwrap().to_path_buf();
    let files = manifest::discover(&[dir]).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap()).collect();
    assert_eq!(names, ["kubia.yaml", "mysql.yaml", "redis-cluster.yaml", "web.yaml", "zookeeper.yaml"]);
    let failed: Vec<&str> = files
        .iter()
        .filter(|f| manifest::load_file(f).is_err())
        .map(|f| f.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(failed, ["kubia.yaml"]);
}

#[test]
fn web_apps_v1beta1_is_converted_with_selector_and_on_delete() {
    let docs = manifest::load_file(&seed("web.yaml")).unwrap();
    let Object::StatefulSet(set) = &docs[1].object else { panic!("{:?}", docs[1].object) };
    assert_eq!(docs[1].object.api_version(), "apps/v1");
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.selector.match_labels.as_ref().unwrap().get("app").map(String::as_str), Some("nginx"));
    assert_eq!(spec.update_strategy.as_ref().unwrap().type_.as_deref(), Some("OnDelete"));
    assert_eq!(spec.service_name.as_deref(), Some("nginx"));
    assert_eq!(spec.replicas, Some(2));
    let claims = spec.volume_claim_templates.as_ref().unwrap();
    assert_eq!(claims[0].metadata.name.as_deref(), Some("www"));
    // Nothing else is defaulted here: that is apps/v1 defaulting's job.
    assert_eq!(spec.pod_management_policy, None);
}

#[test]
fn yaml_1_1_octal_as_kubectl_reads_it() {
    let docs = manifest::load_file(&seed("redis-cluster.yaml")).unwrap();
    let Object::StatefulSet(set) = &docs[1].object else { panic!() };
    let volumes = set.spec.as_ref().unwrap().template.spec.as_ref().unwrap().volumes.as_ref().unwrap();
    assert_eq!(volumes[0].config_map.as_ref().unwrap().default_mode, Some(0o755));
}

// ---- legacy versions ----

const STS_BODY: &str = "kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx
";

#[test]
fn v1beta2_requires_a_selector_and_keeps_rolling_update() {
    let text = format!("apiVersion: apps/v1beta2\n{STS_BODY}");
    let errs = errors("b2.yaml", &text);
    assert_eq!(errs[0], r#"b2.yaml:5: StatefulSet.apps "web" is invalid: spec.selector: Required value"#);

    let text = format!("apiVersion: apps/v1beta2\n{STS_BODY}  selector:\n    matchLabels:\n      app: nginx\n");
    let docs = ok("b2.yaml", &text);
    let Object::StatefulSet(set) = &docs[0].object else { panic!() };
    assert_eq!(set.spec.as_ref().unwrap().update_strategy, None, "RollingUpdate is apps/v1's default");
}

#[test]
fn v1beta1_keeps_an_explicit_strategy_and_selector() {
    let text = format!(
        "apiVersion: apps/v1beta1\n{STS_BODY}  updateStrategy:\n    type: RollingUpdate\n  selector:\n    matchLabels:\n      app: nginx\n      tier: web\n"
    );
    let errs = errors("b1.yaml", &text);
    assert_eq!(
        errs,
        [
            r#"b1.yaml:9: StatefulSet.apps "web" is invalid: spec.template.metadata.labels: Invalid value: {"app":"nginx"}: `selector` does not match template `labels`"#
        ]
    );
    let text = format!("apiVersion: apps/v1beta1\n{STS_BODY}  updateStrategy:\n    type: RollingUpdate\n");
    let docs = ok("b1.yaml", &text);
    let Object::StatefulSet(set) = &docs[0].object else { panic!() };
    assert_eq!(set.spec.as_ref().unwrap().update_strategy.as_ref().unwrap().type_.as_deref(), Some("RollingUpdate"));
}

#[test]
fn unknown_versions_of_known_kinds_are_errors() {
    let errs = errors("v.yaml", "apiVersion: apps/v2\nkind: StatefulSet\nmetadata:\n  name: web\n");
    assert_eq!(
        errs,
        [
            r#"v.yaml:1: StatefulSet.apps "web": apiVersion: no matches for kind "StatefulSet" in version "apps/v2" (supported: apps/v1, apps/v1beta1, apps/v1beta2)"#
        ]
    );
    let errs = errors("v.yaml", "apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata:\n  name: s\n");
    assert!(
        errs[0].contains(r#"no matches for kind "EndpointSlice" in version "discovery.k8s.io/v1beta1""#),
        "{errs:?}"
    );
}

// ---- decode errors, located ----

#[test]
fn type_errors_name_field_and_line() {
    let text = "# a comment
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  ports:
  - name: web
    port: 80
  - name: metrics
    port: abc
";
    assert_eq!(
        errors("web.yaml", text),
        [r#"web.yaml:12: Service "nginx": spec.ports[1].port: invalid type: string "abc", expected i32"#]
    );
    let errs = load("web.yaml", text).unwrap_err();
    assert_eq!(errs[0].field.as_deref(), Some("spec.ports[1].port"));
    assert_eq!(errs[0].line, Some(12));
}

#[test]
fn type_errors_in_flow_style_and_nested_lists() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: x}\n  - name: b\n    image: z\n    ports: [{containerPort: 80}, {containerPort: [1]}]\n";
    assert_eq!(
        errors("p.yaml", text),
        [r#"p.yaml:9: Pod "p": spec.containers[1].ports[1].containerPort: invalid type: sequence, expected i32"#]
    );
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n    version: 1.0\nspec: {ports: [{port: 80}]}\n";
    assert_eq!(
        errors("s.yaml", text),
        [
            r#"s.yaml:6: Service "s": metadata.labels[version]: invalid type: floating point `1.0`, expected a string; quote the value to make it a string"#
        ]
    );
    // YAML 1.1, as kubectl reads it: unquoted y/n/yes/no/on/off are booleans.
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: y\n";
    assert_eq!(
        errors("p.yaml", text),
        [
            r#"p.yaml:7: Pod "p": spec.containers[0].image: invalid type: boolean `true`, expected a string; quote the value to make it a string (YAML reads unquoted y, yes, on, n, no, off as booleans)"#
        ]
    );
}

#[test]
fn yaml_syntax_errors_carry_the_parser_line() {
    let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n   name: bad\n";
    let errs = load("bad.yaml", text).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(8), "{}", errs[0]);
    assert!(errs[0].message.starts_with("YAML syntax error: "), "{}", errs[0]);

    let errs = load("dup.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  name: b\n").unwrap_err();
    assert_eq!(errs[0].line, Some(5), "{}", errs[0]);
    assert!(errs[0].message.contains("duplicate"), "{}", errs[0]);
}

#[test]
fn api_version_and_kind_are_required() {
    let text = "---\n# only a comment\n---\n\n---\nmetadata:\n  name: x\n---\napiVersion: v1\nmetadata:\n  name: y\n";
    assert_eq!(
        errors("m.yaml", text),
        [
            "m.yaml:6: apiVersion: Required value: every object needs apiVersion and kind",
            "m.yaml:6: kind: Required value: every object needs apiVersion and kind",
            "m.yaml:9: kind: Required value: every object needs apiVersion and kind",
        ]
    );
    assert_eq!(
        errors("s.yaml", "just a string\n"),
        ["s.yaml:1: expected a Kubernetes object (a map with apiVersion and kind), found a string"]
    );
    assert_eq!(
        errors("n.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  generateName: x-\nspec: {clusterIP: None}\n"),
        [
            r#"n.yaml:3: Service is invalid: metadata.name: Required value: name is required (generateName is not supported in manifest files, as with kubectl apply)"#
        ]
    );
}

#[test]
fn empty_and_comment_only_documents_are_skipped() {
    assert!(ok("e.yaml", "").is_empty());
    assert!(ok("e.yaml", "# nothing\n---\n---\n# still nothing\n").is_empty());
    let docs = ok("e.yaml", "---\n---\n# c\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].line, 5);
}

#[test]
fn a_file_is_all_or_nothing() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: good\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: Bad_Name\n";
    let errs = load("a.yaml", text).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(9));
    assert!(errs[0].to_string().starts_with(r#"a.yaml:9: Namespace "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label"#), "{}", errs[0]);
}

// ---- a kubectl dump ----

#[test]
fn kubectl_get_yaml_list_dump_loads_without_false_unknown_fields() {
    let path = fixture("cluster-dump.yaml");
    let docs = manifest::load_file(&path).unwrap_or_else(|e| panic!("{e:#?}"));
    let got: Vec<(usize, &str, &str)> = docs.iter().map(|d| (d.line, d.object.kind(), d.object.name())).collect();
    assert_eq!(
        got,
        [
            (3, "Namespace", "default"),
            (17, "Service", "nginx"),
            (77, "Service", "kubernetes"),
            (105, "Pod", "web-0"),
            (245, "EndpointSlice", "nginx-7xq2p"),
            (287, "Endpoints", "nginx"),
            (313, "StatefulSet", "web"),
            (387, "ConfigMap", "kube-root-ca.crt"),
        ]
    );
    for d in &docs {
        assert!(d.warnings.is_empty(), "{}: {:#?}", d.object.name(), d.warnings);
    }
    let Object::Pod(pod) = &docs[3].object else { panic!() };
    let status = pod.status.as_ref().unwrap();
    assert_eq!(status.pod_ip.as_deref(), Some("10.244.0.5"));
    assert_eq!(pod.spec.as_ref().unwrap().subdomain.as_deref(), Some("nginx"));
    let requests = pod.spec.as_ref().unwrap().containers[0].resources.as_ref().unwrap().requests.as_ref().unwrap();
    assert_eq!(requests["cpu"].0, "0.1");
    assert_eq!(requests["ephemeral-storage"].0, "1");
    let ready = status.conditions.as_ref().unwrap().iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.status, "True");
}

#[test]
fn unknown_fields_warn_in_dumps_but_fail_statefulsets() {
    let text = std::fs::read_to_string(fixture("cluster-dump.yaml")).unwrap();
    // A field from a newer cluster in a Pod's status, just before its podIP.
    let lines: Vec<&str> = text.lines().collect();
    let pod_ip = lines.iter().position(|l| *l == "    podIP: 10.244.0.5").unwrap();
    let mut newer: Vec<&str> = lines.clone();
    newer.insert(pod_ip, "    futureField: {a: 1}");
    let docs = ok("dump.yaml", &newer.join("\n"));
    assert_eq!(docs.len(), 8);
    let w: Vec<String> = docs[3].warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [format!(r#"dump.yaml:{}: Pod "web-0": status.futureField: unknown field "futureField""#, pod_ip + 1)]
    );

    // The same in the StatefulSet's spec is an error.
    let replicas = lines.iter().position(|l| *l == "    replicas: 1").unwrap();
    let mut bad = lines.clone();
    bad.insert(replicas, "    replica: 3");
    assert_eq!(
        errors("dump.yaml", &bad.join("\n")),
        [format!(r#"dump.yaml:{}: StatefulSet.apps "web": spec.replica: unknown field "replica""#, replicas + 1)]
    );
}

#[test]
fn json_list_dump_and_typed_list_without_item_kinds() {
    let text = r#"{
    "apiVersion": "v1",
    "kind": "List",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "a", "namespace": "default", "creationTimestamp": null},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 53, "protocol": "UDP", "targetPort": "dns"}]}
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "b"},
            "spec": {"ports": [{"port": "53"}]}
        }
    ]
}"#;
    assert_eq!(
        errors("l.json", text),
        [r#"l.json:15: Service "b": spec.ports[0].port: invalid type: string "53", expected i32"#]
    );
    let good = text.replace(r#""port": "53""#, r#""port": 53"#);
    let docs = ok("l.json", &good);
    assert_eq!(docs.iter().map(|d| d.line).collect::<Vec<_>>(), [5, 11]);

    // As the API returns lists: items without apiVersion/kind.
    let text = r#"{"apiVersion":"v1","kind":"PodList","metadata":{"resourceVersion":"1"},"items":[
{"metadata":{"name":"p1","namespace":"default"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"podIP":"10.0.0.1","phase":"Running"}},
{"metadata":{"name":"p2","namespace":"default"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":{"podIP":"10.0.0.2"}}]}"#;
    let docs = ok("pods.json", text);
    let got: Vec<(usize, &str, &str)> = docs.iter().map(|d| (d.line, d.object.kind(), d.object.name())).collect();
    assert_eq!(got, [(2, "Pod", "p1"), (3, "Pod", "p2")]);
}

#[test]
fn json_stream_and_syntax_errors() {
    let text = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n{\"apiVersion\":\"v1\",\n\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}\n";
    let docs = ok("s.json", text);
    assert_eq!(docs.iter().map(|d| (d.line, d.object.name())).collect::<Vec<_>>(), [(1, "a"), (2, "b")]);

    let errs = load("bad.json", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\"\n  \"metadata\": {}\n}\n")
        .unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, Some(4));
    assert_eq!(errs[0].to_string(), "bad.json:4: JSON syntax error: expected `,` or `}` (column 3)");
}

#[test]
fn other_kinds_keep_their_identity() {
    let docs = ok(
        "o.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: i\n  namespace: ns\nspec:\n  whatever: 1\n",
    );
    assert_eq!(
        docs[0].object,
        Object::Other {
            api_version: "networking.k8s.io/v1".into(),
            kind: "Ingress".into(),
            namespace: Some("ns".into()),
            name: "i".into()
        }
    );
}

// ---- validation ----

fn object(text: &str) -> Object {
    // Decode without load-time validation by going through a List of one… simpler: load and
    // accept validation errors by reading the object back from a permissive path.
    let docs = load("v.yaml", text).unwrap_or_else(|e| panic!("{e:#?}"));
    docs.into_iter().next().unwrap().object
}

fn field_errors(name: &str, text: &str) -> Vec<(String, String)> {
    load(name, text)
        .expect_err("must be invalid")
        .into_iter()
        .map(|e| (e.field.unwrap_or_default(), e.message))
        .collect()
}

#[test]
fn service_validation() {
    let text = "apiVersion: v1
kind: Service
metadata:
  name: 1svc
spec:
  type: Magic
  clusterIP: 10.0.0.300
  sessionAffinity: Sticky
  ports:
  - port: 0
    protocol: HTTP
  - name: web
    port: 80
    targetPort: 70000
  - name: web
    port: 81
    targetPort: Not_A_Name
";
    let got = field_errors("svc.yaml", text);
    let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "metadata.name",
            "spec.type",
            "spec.clusterIP",
            "spec.sessionAffinity",
            "spec.ports[0].name",
            "spec.ports[0].port",
            "spec.ports[0].protocol",
            "spec.ports[1].targetPort",
            "spec.ports[2].name",
            "spec.ports[2].targetPort",
        ]
    );
    assert!(got[0].1.starts_with(r#"Invalid value: "1svc": a DNS-1035 label"#), "{}", got[0].1);
    assert_eq!(
        got[1].1,
        r#"Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort""#
    );
    assert_eq!(got[2].1, r#"Invalid value: "10.0.0.300": must be empty, 'None', or a valid IP address"#);
    assert_eq!(got[4].1, "Required value");
    assert_eq!(got[5].1, "Invalid value: 0: must be between 1 and 65535, inclusive");
    assert_eq!(got[6].1, r#"Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP""#);
    assert_eq!(got[8].1, r#"Duplicate value: "web""#);

    let external = "apiVersion: v1\nkind: Service\nmetadata:\n  name: ext\nspec:\n  type: ExternalName\n";
    assert_eq!(field_errors("e.yaml", external), [("spec.externalName".to_string(), "Required value".to_string())]);
    ok("e.yaml", &format!("{external}  externalName: db.example.com.\n"));
    assert_eq!(
        field_errors(
            "p.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: noports\nspec:\n  selector: {a: b}\n"
        )[0]
        .0,
        "spec.ports"
    );
    ok("h.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: headless\nspec:\n  clusterIP: None\n");
}

const GOOD_STS: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx
        volumeMounts:
        - name: www
          mountPath: /www
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
";

#[test]
fn statefulset_validation() {
    ok("sts.yaml", GOOD_STS);
    let bad = GOOD_STS
        .replace("  serviceName: nginx\n", "  serviceName: nginx\n  replicas: -1\n  minReadySeconds: -5\n  podManagementPolicy: Sometimes\n  ordinals:\n    start: -2\n  updateStrategy:\n    type: OnDelete\n    rollingUpdate:\n      partition: 1\n  persistentVolumeClaimRetentionPolicy:\n    whenDeleted: Keep\n")
        .replace("    spec:\n      containers:", "    spec:\n      restartPolicy: Never\n      activeDeadlineSeconds: 10\n      containers:")
        .replace("        image: nginx\n", "        image: nginx\n      - name: nginx\n")
        .replace("        - name: www\n", "        - name: data\n");
    let got = field_errors("sts.yaml", &bad);
    let expected = [
        ("spec.podManagementPolicy", r#"Invalid value: "Sometimes": must be 'OrderedReady' or 'Parallel'"#),
        (
            "spec.updateStrategy.rollingUpdate",
            r#"Invalid value: {"partition":1}: only allowed for updateStrategy 'RollingUpdate'"#,
        ),
        (
            "spec.persistentVolumeClaimRetentionPolicy.whenDeleted",
            r#"Unsupported value: "Keep": supported values: "Retain", "Delete""#,
        ),
        ("spec.replicas", "Invalid value: -1: must be greater than or equal to 0"),
        ("spec.minReadySeconds", "Invalid value: -5: must be greater than or equal to 0"),
        ("spec.ordinals.start", "Invalid value: -2: must be greater than or equal to 0"),
        ("spec.template.spec.restartPolicy", r#"Unsupported value: "Never": supported values: "Always""#),
        (
            "spec.template.spec.activeDeadlineSeconds",
            "Forbidden: activeDeadlineSeconds in StatefulSet is not Supported",
        ),
        ("spec.template.spec.containers[1].volumeMounts[0].name", r#"Not found: "data""#),
        ("spec.template.spec.containers[1].name", r#"Duplicate value: "nginx""#),
        ("spec.template.spec.containers[1].image", "Required value"),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want: Vec<(String, String)> = expected.iter().map(|(f, m)| (f.to_string(), m.to_string())).collect();
    want.sort();
    assert_eq!(got_sorted, want);
    // Errors come in line order.
    let lines: Vec<usize> = load("sts.yaml", &bad).unwrap_err().iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");

    let no_containers = GOOD_STS.replace(
        "      containers:\n      - name: nginx\n        image: nginx\n        volumeMounts:\n        - name: www\n          mountPath: /www\n",
        "      containers: []\n",
    );
    assert_eq!(
        field_errors("sts.yaml", &no_containers),
        [("spec.template.spec.containers".to_string(), "Required value".to_string())]
    );
    let empty_selector = GOOD_STS.replace("    matchLabels:\n      app: nginx\n", "    matchLabels: {}\n");
    assert_eq!(
        field_errors("sts.yaml", &empty_selector),
        [(
            "spec.selector".to_string(),
            r#"Invalid value: {"matchLabels":{}}: empty selector is invalid for statefulset"#.to_string()
        )]
    );
    let expressions = GOOD_STS.replace(
        "    matchLabels:\n      app: nginx\n",
        "    matchExpressions:\n    - {key: app, operator: In, values: [nginx, web]}\n    - {key: tier, operator: DoesNotExist}\n",
    );
    ok("sts.yaml", &expressions);
    let bad_claim = GOOD_STS.replace("      name: www\n    spec:", "      name: WWW\n    spec:");
    let got = field_errors("sts.yaml", &bad_claim);
    assert_eq!(got[0].0, "spec.template.spec.containers[0].volumeMounts[0].name");
    assert_eq!(got[1].0, "spec.volumeClaimTemplates[0].metadata.name");
}

#[test]
fn invalid_message_reads_like_the_api_server() {
    let text = GOOD_STS.replace("    matchLabels:\n      app: nginx\n", "    matchLabels:\n      app: other\n");
    let docs = manifest::load_str(Path::new("x.yaml"), &text.replace("apps/v1", "apps/v1beta2"));
    assert!(docs.is_err());
    let obj = object(GOOD_STS);
    let Object::StatefulSet(mut set) = obj else { panic!() };
    set.spec.as_mut().unwrap().selector = Default::default();
    let obj = Object::StatefulSet(set);
    let errs = manifest::validate(&obj);
    assert_eq!(errs[0].kind, FieldErrorKind::Required);
    assert_eq!(
        manifest::invalid_message(&obj, &errs),
        r#"StatefulSet.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: {"app":"nginx"}: `selector` does not match template `labels`]"#
    );
    assert_eq!(
        manifest::invalid_message(&obj, &errs[..1]),
        r#"StatefulSet.apps "web" is invalid: spec.selector: Required value"#
    );
}

#[test]
fn statefulset_updates_only_change_mutable_fields() {
    let old = object(GOOD_STS);
    let scaled = object(&GOOD_STS.replace(
        "  serviceName: nginx\n",
        "  serviceName: nginx\n  replicas: 5\n  minReadySeconds: 3\n  revisionHistoryLimit: 2\n  ordinals:\n    start: 1\n  persistentVolumeClaimRetentionPolicy:\n    whenScaled: Delete\n  updateStrategy:\n    type: OnDelete\n",
    ));
    assert_eq!(manifest::validate_update(&old, &scaled), []);
    let image = object(&GOOD_STS.replace("image: nginx", "image: nginx:1.27"));
    assert_eq!(manifest::validate_update(&old, &image), []);
    // Defaults equal absence: a stored, defaulted object against the manifest.
    let defaulted = object(
        &GOOD_STS
            .replace(
                "  serviceName: nginx\n",
                "  serviceName: nginx\n  podManagementPolicy: OrderedReady\n  revisionHistoryLimit: 10\n",
            )
            .replace("storage: 1Gi\n", "storage: 1Gi\n      volumeMode: Filesystem\n"),
    );
    assert_eq!(manifest::validate_update(&defaulted, &old), []);

    let forbidden = "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";
    for changed in [
        GOOD_STS.replace("serviceName: nginx", "serviceName: other"),
        GOOD_STS.replace("  serviceName: nginx\n", "  serviceName: nginx\n  podManagementPolicy: Parallel\n"),
        GOOD_STS.replace("storage: 1Gi", "storage: 2Gi"),
        GOOD_STS
            .replace("      app: nginx\n  template", "      app: nginx\n      tier: web\n  template")
            .replace("        app: nginx\n    spec", "        app: nginx\n        tier: web\n    spec"),
    ] {
        let errs = manifest::validate_update(&old, &object(&changed));
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(
            (errs[0].field.as_str(), errs[0].kind.clone(), errs[0].message.as_str()),
            ("spec", FieldErrorKind::Forbidden, forbidden)
        );
    }
}

#[test]
fn service_cluster_ip_is_immutable() {
    let svc = |ip: &str| {
        object(&format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  clusterIP: {ip}\n  ports: [{{port: 80}}]\n"
        ))
    };
    assert_eq!(manifest::validate_update(&svc("10.96.0.10"), &svc("10.96.0.10")), []);
    assert_eq!(manifest::validate_update(&svc("10.96.0.10"), &svc("\"\"")), []);
    let errs = manifest::validate_update(&svc("10.96.0.10"), &svc("10.96.0.11"));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].to_string(), r#"spec.clusterIP: Invalid value: "10.96.0.11": field is immutable"#);
    assert_eq!(errs[0].kind, FieldErrorKind::Immutable);
    assert_eq!(manifest::validate_update(&svc("None"), &svc("10.96.0.11"))[0].kind, FieldErrorKind::Immutable);
}

// ---- discovery ----

#[test]
fn discover_reads_directories_like_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b.yaml", "a.yml", "c.json", "notes.txt", ".hidden.yaml", "sub/d.yaml"] {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    let explicit = dir.path().join("notes.txt");
    let files = manifest::discover(&[dir.path().to_path_buf(), explicit.clone()]).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap()).collect();
    assert_eq!(names, ["a.yml", "b.yaml", "c.json", "notes.txt"]);

    let missing = dir.path().join("nope.yaml");
    let err = manifest::discover(std::slice::from_ref(&missing)).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: cannot read manifest path: the path does not exist", missing.display()));
    let err = manifest::load_file(&missing).unwrap_err();
    assert_eq!(err[0].file, missing);
}

// ---- watching ----

async fn next_change(rx: &mut tokio::sync::mpsc::Receiver<PathBuf>) -> PathBuf {
    tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("a change notification within 1 s")
        .expect("watch channel open")
}

/// Nothing but (on a machine too busy to keep a burst within the debounce window) repeats of
/// `same` arrives for a while.
async fn no_change(rx: &mut tokio::sync::mpsc::Receiver<PathBuf>, same: Option<&Path>) {
    while let Ok(Some(p)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        assert_eq!(Some(p.as_path()), same, "unexpected notification for {}", p.display());
    }
}

#[tokio::test]
async fn watch_reports_edits_atomic_replaces_and_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yaml");
    std::fs::write(&web, "a: 1\n").unwrap();
    let (_guard, mut rx) = manifest::watch(vec![dir.path().to_path_buf()]).unwrap();

    // In-place edit: several writes collapse into one notification.
    for i in 0..3 {
        std::fs::write(&web, format!("a: {i}\n")).unwrap();
    }
    assert_eq!(next_change(&mut rx).await, web);
    no_change(&mut rx, Some(&web)).await;

    // Atomic replace as editors do it: write a temporary file, rename it over the original.
    let tmp = dir.path().join(".web.yaml.tmp");
    std::fs::write(&tmp, "a: 2\n").unwrap();
    std::fs::rename(&tmp, &web).unwrap();
    assert_eq!(next_change(&mut rx).await, web);
    no_change(&mut rx, Some(&web)).await;

    // A new file in the watched directory; files that are not manifests are ignored.
    std::fs::write(dir.path().join("README.txt"), "x").unwrap();
    let new = dir.path().join("new.yml");
    std::fs::write(&new, "b: 1\n").unwrap();
    assert_eq!(next_change(&mut rx).await, new);

    // Deletion is a change too (the receiver finds the file gone).
    std::fs::remove_file(&new).unwrap();
    assert_eq!(next_change(&mut rx).await, new);
    no_change(&mut rx, Some(&new)).await;
}

#[tokio::test]
async fn watch_a_single_file_survives_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("only.yaml");
    let other = dir.path().join("other.yaml");
    std::fs::write(&file, "a: 1\n").unwrap();
    std::fs::write(&other, "a: 1\n").unwrap();
    let (_guard, mut rx) = manifest::watch(vec![file.clone()]).unwrap();

    std::fs::write(&other, "a: 2\n").unwrap();
    no_change(&mut rx, None).await;
    for round in 0..2 {
        let tmp = dir.path().join(format!("only.yaml.{round}~"));
        std::fs::write(&tmp, format!("a: {round}\n")).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        assert_eq!(next_change(&mut rx).await, file);
    }
    std::fs::write(&file, "a: 9\n").unwrap();
    assert_eq!(next_change(&mut rx).await, file);
}

#[test]
fn watch_needs_existing_paths() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let err = manifest::watch(vec![PathBuf::from("/nonexistent/dir")]).unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/dir: cannot watch:"), "{err}");
    });
}

// ---- scale ----

/// A `kubectl get svc,pods,endpointslices -A -o yaml` shaped dump: `services` headless
/// Services, each with `pods_per_service` ready pods (with status and managedFields-free
/// metadata as `kubectl get` prints) and one EndpointSlice, as one `kind: List`, built from the
/// items of `tests/fixtures/cluster-dump.yaml`.
fn generated_dump(services: usize, pods_per_service: usize) -> String {
    let text = std::fs::read_to_string(fixture("cluster-dump.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let item = |kind_line: &str, name: &str| -> String {
        // An item runs from its "- apiVersion" line to the next one.
        let name_at = lines
            .iter()
            .enumerate()
            .position(|(i, l)| {
                *l == format!("    name: {name}")
                    && lines[..i].iter().rev().find(|l| l.starts_with("  kind: ")) == Some(&kind_line)
            })
            .unwrap();
        let start = (0..name_at).rev().find(|&i| lines[i].starts_with("- ")).unwrap();
        let end =
            (name_at..lines.len()).find(|&i| lines[i].starts_with("- ") || lines[i].starts_with("kind: List")).unwrap();
        lines[start..end].join("\n") + "\n"
    };
    let service = item("  kind: Service", "nginx");
    let pod = item("  kind: Pod", "web-0");
    let slice = item("  kind: EndpointSlice", "nginx-7xq2p");
    let mut out = String::from("apiVersion: v1\nitems:\n");
    for s in 0..services {
        let svc = format!("svc-{s}");
        out.push_str(&service.replace("nginx", &svc));
        out.push_str(&slice.replace("nginx", &svc).replace(&format!("{svc}-7xq2p"), &format!("{svc}-abcde")));
        for p in 0..pods_per_service {
            let ip = format!("10.{}.{}.{}", 100 + s / 250, s % 250, p + 1);
            out.push_str(
                &pod.replace("web-0", &format!("{svc}-{p}"))
                    .replace("subdomain: nginx", &format!("subdomain: {svc}"))
                    .replace("10.244.0.5", &ip)
                    .replace("www-web-0", &format!("www-{svc}-{p}")),
            );
        }
    }
    out.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    out
}

#[test]
fn generated_dump_loads_with_exact_lines() {
    let text = generated_dump(20, 10);
    let docs = ok("dump.yaml", &text);
    assert_eq!(docs.len(), 20 * 12);
    let lines: Vec<&str> = text.lines().collect();
    for d in &docs {
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        // Each item starts at its "- apiVersion" line.
        assert!(lines[d.line - 1].starts_with("- apiVersion: "), "{}: {}", d.line, lines[d.line - 1]);
    }
    let pods = docs.iter().filter(|d| matches!(d.object, Object::Pod(_))).count();
    assert_eq!(pods, 200);
    // A broken pod deep in the dump is reported at its own line.
    let target = lines.iter().position(|l| *l == "    hostname: svc-17-3").unwrap();
    let broken = text.replacen("    hostname: svc-17-3\n", "    hostname: [svc-17-3]\n", 1);
    let errs = load("dump.yaml", &broken).unwrap_err();
    assert_eq!(
        errs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            r#"dump.yaml:{}: Pod "svc-17-3": spec.hostname: invalid type: sequence, expected a string"#,
            target + 1
        )]
    );
}

/// CPU time of this thread (user + system), so timing holds on a busy shared machine.
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field overall.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// Issue 2: 1,000 services and 10,000 pods load in under 2 s. Timing is only meaningful in a
/// release build: `cargo test --release --test manifest -- --ignored`. The bound is on this
/// thread's CPU time, so a loaded machine does not fail it; wall time is printed too.
#[test]
#[ignore = "timing; run with --release"]
fn ten_thousand_pods_load_in_under_two_seconds() {
    let text = generated_dump(1000, 10);
    if let Ok(path) = std::env::var("ORDINAL_DUMP_TO") {
        std::fs::write(path, &text).unwrap();
    }
    let (start, cpu_start) = (std::time::Instant::now(), thread_cpu_time());
    let docs = ok("dump.yaml", &text);
    let (elapsed, cpu) = (start.elapsed(), thread_cpu_time() - cpu_start);
    println!("{} objects, {} MiB, loaded in {elapsed:?} wall, {cpu:?} CPU", docs.len(), text.len() >> 20);
    assert_eq!(docs.len(), 12_000);
    assert!(cpu < Duration::from_secs(2), "{cpu:?}");
}

#[test]
fn claim_templates_need_access_modes_and_a_well_formed_storage_request() {
    let bad = GOOD_STS
        .replace("      accessModes: [ReadWriteOnce]\n", "      accessModes: [ReadWriteSometimes]\n")
        .replace("          storage: 1Gi\n", "          storage: 1Gb\n");
    assert_eq!(
        field_errors("sts.yaml", &bad),
        [
            (
                "spec.volumeClaimTemplates[0].spec.accessModes".to_string(),
                r#"Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod""#.to_string()
            ),
            (
                "spec.volumeClaimTemplates[0].spec.resources.requests[storage]".to_string(),
                r#"Invalid value: "1Gb": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"#.to_string()
            ),
        ]
    );
    let lines: Vec<Option<usize>> = load("sts.yaml", &bad).unwrap_err().iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(25), Some(28)]);
    let missing = GOOD_STS
        .replace("      accessModes: [ReadWriteOnce]\n", "")
        .replace("      resources:\n        requests:\n          storage: 1Gi\n", "      storageClassName: fast\n");
    assert_eq!(
        field_errors("sts.yaml", &missing),
        [
            (
                "spec.volumeClaimTemplates[0].spec.accessModes".to_string(),
                "Required value: at least 1 access mode is required".to_string()
            ),
            ("spec.volumeClaimTemplates[0].spec.resources[storage]".to_string(), "Required value".to_string()),
        ]
    );
    for q in ["1", "1.5Gi", "500m", "1e3", "0.1", "+2Ki", "1E-2"] {
        ok("sts.yaml", &GOOD_STS.replace("storage: 1Gi", &format!("storage: {q}")));
    }
}

#[test]
fn pod_and_endpoint_identity_is_checked_for_dns() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-0\nspec:\n  hostname: Web_0\n  subdomain: nginx\n  containers: [{name: c, image: i}]\nstatus:\n  podIP: 10.0.0.300\n  podIPs:\n  - ip: fd00::1\n";
    assert_eq!(
        field_errors("pod.yaml", pod).iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["spec.hostname", "status.podIP"]
    );
    let slice = "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: s-1\naddressType: IPv4\nendpoints:\n- addresses: [10.0.0.1]\n  hostname: web-0\n- addresses: [fd00::1]\nports:\n- name: web\n  port: 80\n- name: web\n  port: 0\n  protocol: ICMP\n";
    let got = field_errors("slice.yaml", slice);
    assert_eq!(
        got.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        ["endpoints[1].addresses[0]", "ports[1].name", "ports[1].port", "ports[1].protocol"]
    );
    let errs = load("slice.yaml", slice).unwrap_err();
    assert_eq!(
        errs[0].to_string(),
        r#"slice.yaml:9: EndpointSlice.discovery.k8s.io "s-1" is invalid: endpoints[1].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address"#
    );
}

#[test]
fn syntax_errors_line_endings_and_bom() {
    let cases = [
        ("tab.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n"),
        (
            "indent.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: 80\n   name: bad\n",
        ),
        ("colon.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s: x\n"),
        ("unclosed.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: s\nspec: {}\n"),
        (
            "crlf.yaml",
            "apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n  name: s\r\nspec:\r\n  ports:\r\n  - port: x\r\n",
        ),
        ("bom.yaml", "\u{feff}apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: x\n"),
        ("alias.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: *nope\n"),
    ];
    let got: Vec<String> = cases.iter().flat_map(|(name, text)| errors(name, text)).collect();
    assert_eq!(
        got,
        [
            "tab.yaml:4: YAML syntax error: tabs disallowed within this context (block indentation) (column 2)",
            "indent.yaml:8: YAML syntax error: while parsing a block mapping, did not find expected key (column 4)",
            "colon.yaml:4: YAML syntax error: mapping values are not allowed in this context (column 10)",
            "unclosed.yaml:4: YAML syntax error: while parsing a flow mapping, did not find expected ',' or '}' (column 5)",
            r#"crlf.yaml:7: Service "s": spec.ports[0].port: invalid type: string "x", expected i32"#,
            r#"bom.yaml:7: Service "s": spec.ports[0].port: invalid type: string "x", expected i32"#,
            "alias.yaml:4: YAML syntax error: while parsing node, found unknown anchor (column 9)",
        ]
    );
}

#[test]
fn anchors_and_merge_keys_work_in_manifests() {
    let text = "apiVersion: v1
kind: Service
metadata:
  name: s
  labels: &labels
    app: web
spec:
  selector: *labels
  ports:
  - &http {name: http, port: 80, protocol: TCP}
  - <<: *http
    name: alt
    port: 8080
";
    let docs = ok("a.yaml", text);
    let Object::Service(svc) = &docs[0].object else { panic!() };
    let spec = svc.spec.as_ref().unwrap();
    assert_eq!(spec.selector.as_ref().unwrap()["app"], "web");
    let ports = spec.ports.as_ref().unwrap();
    assert_eq!(
        (ports[1].name.as_deref(), ports[1].port, ports[1].protocol.as_deref()),
        (Some("alt"), 8080, Some("TCP"))
    );
    // An unknown field inside a list item of a StatefulSet is located exactly.
    let bad = GOOD_STS.replace(
        "        image: nginx\n",
        "        image: nginx\n        imagePullPolicy: Always\n        imagePolicy: Always\n",
    );
    assert_eq!(
        errors("sts.yaml", &bad),
        [
            r#"sts.yaml:19: StatefulSet.apps "web": spec.template.spec.containers[0].imagePolicy: unknown field "imagePolicy""#
        ]
    );
}

#[tokio::test]
async fn watch_follows_configmap_volume_updates() {
    // The layout Kubernetes' atomic writer keeps in a ConfigMap volume.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("..2026_11_20_09_00_00.1")).unwrap();
    std::fs::write(d.join("..2026_11_20_09_00_00.1/web.yaml"), "a: 1\n").unwrap();
    std::os::unix::fs::symlink("..2026_11_20_09_00_00.1", d.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/web.yaml", d.join("web.yaml")).unwrap();
    assert_eq!(manifest::discover(&[d.to_path_buf()]).unwrap(), [d.join("web.yaml")]);
    let (_guard, mut rx) = manifest::watch(vec![d.to_path_buf()]).unwrap();

    // An update: new timestamped directory, `..data_tmp` pointing at it, renamed over `..data`.
    std::fs::create_dir(d.join("..2026_11_20_09_05_00.2")).unwrap();
    std::fs::write(d.join("..2026_11_20_09_05_00.2/web.yaml"), "a: 2\n").unwrap();
    std::os::unix::fs::symlink("..2026_11_20_09_05_00.2", d.join("..data_tmp")).unwrap();
    std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
    assert_eq!(next_change(&mut rx).await, d.join("web.yaml"));
    assert_eq!(std::fs::read_to_string(d.join("web.yaml")).unwrap(), "a: 2\n");
}

#[test]
fn identity_fields_of_the_wrong_type() {
    assert_eq!(
        errors(
            "t.yaml",
            "apiVersion: v1\nkind: 5\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 0123\n---\nkind: List\napiVersion: v1\nitems: {a: 1}\n"
        ),
        [
            "t.yaml:2: kind: must be a non-empty string, found an integer",
            r#"t.yaml:9: ConfigMap: metadata.name: must be a string, found an integer; quote the value to make it a string"#,
            "t.yaml:13: items: must be a list of objects, found a map",
        ]
    );
}

#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> LogBuf {
        self.clone()
    }
}

#[test]
fn a_new_field_in_every_pod_of_a_dump_is_logged_once() {
    let text =
        generated_dump(3, 2).replace("    qosClass: Burstable\n", "    qosClass: Burstable\n    futureField: 1\n");
    let buf = LogBuf::default();
    let subscriber = tracing_subscriber::fmt().with_writer(buf.clone()).with_ansi(false).without_time().finish();
    let docs = tracing::subscriber::with_default(subscriber, || ok("dump.yaml", &text));
    let pods: Vec<&Document> = docs.iter().filter(|d| matches!(d.object, Object::Pod(_))).collect();
    assert_eq!(pods.len(), 6);
    assert!(pods.iter().all(|d| d.warnings.len() == 1 && d.warnings[0].field.as_deref() == Some("status.futureField")));
    let log = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].ends_with(&format!(
            r#"dump.yaml:{}: Pod "svc-0-0": status.futureField: unknown field "futureField" (ignored; the same in 5 more Pod objects of this file)"#,
            pods[0].warnings[0].line.unwrap()
        )),
        "{log}"
    );
}

#[test]
fn truncated_and_mangled_input_never_panics() {
    let yaml = std::fs::read_to_string(fixture("cluster-dump.yaml")).unwrap();
    let json = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":53}]}}]}"#;
    let mut tried = 0;
    for text in [yaml.as_str(), json, GOOD_STS] {
        let boundaries: Vec<usize> = (0..=text.len()).filter(|&i| text.is_char_boundary(i)).collect();
        for &cut in boundaries.iter().step_by(17) {
            let _ = load("cut.yaml", &text[..cut]);
            tried += 1;
        }
        for (n, &at) in boundaries.iter().step_by(23).enumerate() {
            if at >= text.len() {
                continue;
            }
            let junk = [":", "-", "{", "[", "\"", "\t", "&a ", "*a", "<<: ", "\n- ", "0x", "~", "!!int "][n % 13];
            let mangled = format!("{}{junk}{}", &text[..at], &text[at..]);
            let _ = load("mangled.yaml", &mangled);
            tried += 1;
        }
    }
    assert!(tried > 500, "{tried}");
}

#[test]
fn list_items_stream_but_other_objects_with_items_do_not() {
    // A typed list whose kind comes after its items, items without apiVersion/kind.
    let text = "apiVersion: v1\nitems:\n- metadata: {name: p1}\n  spec: {containers: [{name: c, image: i}]}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: n1}\n- metadata: {name: p2}\n  spec: {containers: [{name: c, image: i}]}\nkind: PodList\n";
    let docs = ok("l.yaml", text);
    let got: Vec<(usize, &str, &str)> = docs.iter().map(|d| (d.line, d.object.kind(), d.object.name())).collect();
    assert_eq!(got, [(3, "Pod", "p1"), (5, "Namespace", "n1"), (8, "Pod", "p2")]);

    // Objects that are not lists keep a top-level `items` to themselves.
    let text = "apiVersion: example.com/v1\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: x}\nkind: Widget\nmetadata:\n  name: w\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s\nitems:\n- 1\nspec:\n  clusterIP: None\n";
    let docs = ok("w.yaml", text);
    let got: Vec<(usize, &str, &str)> = docs.iter().map(|d| (d.line, d.object.kind(), d.object.name())).collect();
    assert_eq!(got, [(1, "Widget", "w"), (10, "Service", "s")]);
    assert_eq!(docs[1].warnings[0].to_string(), r#"w.yaml:14: Service "s": items: unknown field "items""#);

    // Errors in streamed items are reported with the others, in file order.
    let text = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: a}\n  spec: {ports: [{port: x}]}\n- kind: Pod\n  metadata: {name: b}\nkind: List\n";
    assert_eq!(
        errors("e.yaml", text),
        [
            r#"e.yaml:6: Service "a": spec.ports[0].port: invalid type: string "x", expected i32"#,
            "e.yaml:7: apiVersion: Required value: every object needs apiVersion and kind",
        ]
    );
}

/// The same dump as `kubectl get -o json` writes it (pretty JSON, one `List`).
#[test]
#[ignore = "timing; run with --release"]
fn ten_thousand_pods_as_json_load_in_under_two_seconds() {
    let docs = ok("dump.yaml", &generated_dump(1000, 10));
    let items: Vec<serde_json::Value> = docs
        .iter()
        .map(|d| match &d.object {
            Object::Pod(o) => serde_json::to_value(o),
            Object::Service(o) => serde_json::to_value(o),
            Object::EndpointSlice(o) => serde_json::to_value(o),
            other => panic!("{other:?}"),
        })
        .collect::<Result<_, _>>()
        .unwrap();
    let text =
        serde_json::to_string_pretty(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items})).unwrap();
    drop(docs);
    let (start, cpu_start) = (std::time::Instant::now(), thread_cpu_time());
    let docs = ok("dump.json", &text);
    let (elapsed, cpu) = (start.elapsed(), thread_cpu_time() - cpu_start);
    println!("{} objects, {} MiB of JSON, loaded in {elapsed:?} wall, {cpu:?} CPU", docs.len(), text.len() >> 20);
    assert_eq!(docs.len(), 12_000);
    assert!(docs.iter().all(|d| d.warnings.is_empty()));
    assert!(cpu < Duration::from_secs(2), "{cpu:?}");
}
