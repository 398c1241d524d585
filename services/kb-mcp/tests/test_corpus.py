"""Reading runbook folders as teams keep them: real public collections as published, front matter of every
kind or none, HTML, headings at any level, bad files skipped and reported, the lab's own runbooks unchanged."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from kb_mcp.corpus import CorpusError, Runbook, load_folders, parse_runbook, path_id
from kb_mcp.markdown import split_sections, to_text

RUNBOOK = """---
id: demo-runbook
title: Demo Runbook
team: platform
services: []
tags: [demo]
last_reviewed: 2026-01-02
---
# Demo Runbook

## Symptoms
Pods are OOMKilled.

## Diagnosis
Run this:

```bash
## not a heading: inside a code block
kubectl describe pod x
```

## Symptoms
A second section with the same heading.
"""


def by_source(runbooks: tuple[Runbook, ...], source: str) -> Runbook:
    return next(r for r in runbooks if r.source == source)


def test_sections_split_on_headings_outside_code_blocks() -> None:
    runbook = parse_runbook(RUNBOOK, "demo.md")
    assert runbook.id == "demo-runbook" and runbook.services == () and runbook.last_reviewed == "2026-01-02"
    assert runbook.team == "platform" and runbook.tags == ("demo",) and runbook.title == "Demo Runbook"
    assert [(s.heading, s.slug) for s in runbook.sections] == [
        ("Symptoms", "symptoms"),
        ("Diagnosis", "diagnosis"),
        ("Symptoms", "symptoms-2"),
    ]
    assert "## not a heading" in runbook.sections[1].text
    assert runbook.sections[0].uri == "runbook://demo-runbook/symptoms"
    assert runbook.markdown.startswith("---\nid: demo-runbook")


def test_the_labs_runbooks_keep_their_metadata(runbooks_dir: Path, runbook_ids: list[str]) -> None:
    loaded = load_folders([runbooks_dir])
    assert [r.id for r in loaded.runbooks] == runbook_ids
    assert [str(i) for i in loaded.ignored] == ["README.md: a repository file, not a runbook"]
    assert loaded.skipped == ()
    for runbook in loaded.runbooks:
        assert runbook.team and runbook.tags and runbook.last_reviewed, runbook.id
        assert {"symptoms", "diagnosis", "mitigation", "escalation"} <= {s.slug for s in runbook.sections}, runbook.id
    pod = next(r for r in loaded.runbooks if r.id == "pod-crash")
    assert pod.services and pod.source == "pod-crash.md"


def test_a_hugo_collection_ingests_as_published(real_collections: Path) -> None:
    """prometheus-operator/runbooks: a folder per component, YAML front matter on most files, none on others, a
    section index per folder, `<details>` blocks, a file without an extension."""
    loaded = load_folders([real_collections / "prometheus-operator"])
    assert len(loaded.runbooks) == 40 and loaded.skipped == ()
    assert [str(i) for i in loaded.ignored] == ["kubernetes/_index.md: a section index, not a runbook"]

    crash = by_source(loaded.runbooks, "kubernetes/KubePodCrashLooping.md")
    assert crash.id == "kubernetes-kube-pod-crash-looping"
    assert crash.title == "Kube Pod Crash Looping" and crash.aliases == ("KubePodCrashLooping",)
    assert [s.heading for s in crash.sections] == ["Meaning", "Impact", "Diagnosis", "Mitigation"]
    assert crash.team == "" and crash.tags == ()

    api_down = by_source(loaded.runbooks, "kubernetes/KubeAPIDown.md")  # no front matter: the title is the H1
    assert api_down.title == "KubeAPIDown" and api_down.aliases == ()

    not_ready = by_source(loaded.runbooks, "kubernetes/KubePodNotReady.md")
    meaning = not_ready.section("meaning")
    assert meaning is not None and "<details>" not in meaning.text and "<summary>" not in meaning.text
    assert "Full context" in meaning.text and "Pod failed to reach reay state" in meaning.text

    rules = by_source(loaded.runbooks, "prometheus/PrometheusRuleFailures.md")  # no section headings at all
    assert [s.heading for s in rules.sections] == ["Overview"] and "rules page" in rules.sections[0].text

    volume = by_source(loaded.runbooks, "kubernetes/KubePersistentVolumeFillingUp.md")  # a long ## of ###s
    headings = [s.heading for s in volume.sections]
    assert headings[:4] == ["Meaning", "Impact", "Diagnosis", "Mitigation › Data retention"]
    assert "Mitigation › Direct Volume resizing" in headings
    resize = volume.section("mitigation-direct-volume-resizing")
    assert resize is not None and "kubectl -n <my-namespace> edit pvc <my-pvc>" in resize.text


def test_a_collection_without_front_matter_gets_ids_from_paths(real_collections: Path) -> None:
    loaded = load_folders([real_collections / "openshift"])
    assert len(loaded.runbooks) == 20 and not loaded.skipped
    dns = by_source(loaded.runbooks, "cluster-dns-operator/CoreDNSErrorsHigh.md")
    assert dns.id == "cluster-dns-operator-core-dns-errors-high" and dns.title == "CoreDNSErrorsHigh"
    pdb = by_source(loaded.runbooks, "cluster-kube-controller-manager-operator/PodDisruptionBudgetAtLimit.md")
    assert pdb.id == "cluster-kube-controller-manager-operator-pod-disruption-budget-at-limit"
    assert pdb.section("mitigation") is not None and pdb.uri == f"runbook://{pdb.id}"


def test_html_comments_go_and_placeholders_stay(real_collections: Path) -> None:
    """kubevirt/monitoring: HTML comments for downstream docs around every runbook, `<placeholders>` in code."""
    loaded = load_folders([real_collections / "kubevirt"])
    assert len(loaded.runbooks) == 20 and not loaded.skipped
    for runbook in loaded.runbooks:
        assert all("<!--" not in s.text and "USstart" not in s.text for s in runbook.sections), runbook.id
    controller = by_source(loaded.runbooks, "VirtControllerDown.md")  # a comment line above the H1
    assert controller.title == "VirtControllerDown"
    assert [s.heading for s in controller.sections] == ["Meaning", "Impact", "Diagnosis", "Mitigation"]
    mitigation = controller.section("mitigation")
    assert mitigation is not None and "Customer Portal" not in mitigation.text and "OKD Help" in mitigation.text
    api = by_source(loaded.runbooks, "VirtApiRESTErrorsHigh.md")
    diagnosis = api.section("diagnosis")
    assert diagnosis is not None and "kubectl logs -n  $NAMESPACE <virt-api>" in diagnosis.text


def test_an_mkdocs_collection_of_long_problem_pages_ingests_as_published(real_collections: Path) -> None:
    """rook/rook's troubleshooting pages: MkDocs front matter with a title only, many problems per page (each a `##`
    with `### Symptoms / Investigation / Solution`), `!!! caution` admonitions, a `.pages` nav file."""
    loaded = load_folders([real_collections / "rook"])
    assert len(loaded.runbooks) == 4 and loaded.skipped == () and loaded.ignored == ()
    ceph = by_source(loaded.runbooks, "ceph-common-issues.md")
    assert ceph.id == "ceph-common-issues" and ceph.title == "Ceph Common Issues"
    headings = [s.heading for s in ceph.sections]
    assert "Node hangs after reboot" in headings  # short enough to stay whole, its Solution inside
    assert headings[headings.index("OSD pods are failing to start › Symptoms") :][:3] == [
        "OSD pods are failing to start › Symptoms",
        "OSD pods are failing to start › Investigation",
        "OSD pods are failing to start › Solution",
    ]
    solution = ceph.section("monitors-are-the-only-pods-running-investigation-solution-2")
    assert solution is not None and "!!! caution" in solution.text and "permanently purge" in solution.text


def test_a_docsy_site_keeps_shortcode_words_and_reads_a_section_page_that_is_a_page(real_collections: Path) -> None:
    """kubernetes/website's debug tasks: `{{<glossary_tooltip text="kubectl" ...>}}` in prose is the word kubectl,
    `## {{% heading "whatsnext" %}}` is a heading, and `debug-cluster/_index.md` is the whole "Troubleshooting
    Clusters" page while `debug-application/_index.md` is front matter only."""
    loaded = load_folders([real_collections / "kubernetes-website"])
    assert loaded.skipped == ()
    assert [str(i) for i in loaded.ignored] == ["debug-application/_index.md: a section index, not a runbook"]
    clusters = by_source(loaded.runbooks, "debug-cluster/_index.md")
    assert clusters.id == "debug-cluster" and clusters.title == "Troubleshooting Clusters"
    assert [s.heading for s in clusters.sections if " › " not in s.heading][:4] == [
        "Overview",
        "Listing your cluster",
        "Looking at logs",
        "Cluster failure modes",
    ]
    assert "troubleshooting\nkubectl click" in clusters.sections[0].text

    kubectl = by_source(loaded.runbooks, "debug-cluster/troubleshoot-kubectl.md")
    assert "investigating and diagnosing\nkubectl related issues" in kubectl.sections[0].text
    api = kubectl.section("api-server-and-load-balancer")
    assert api is not None and api.text.startswith("The kube-apiserver server is the")
    assert [s.heading for s in kubectl.sections][:3] == ["Overview", "prerequisites", "Verify kubectl setup"]

    statefulset = by_source(loaded.runbooks, "debug-application/debug-statefulset.md")
    assert [s.heading for s in statefulset.sections] == [
        "Overview",
        "prerequisites",
        "Debugging a StatefulSet",
        "whatsnext",
    ]
    for runbook in loaded.runbooks:
        for section in runbook.sections:
            assert "{{" not in section.text.replace("{{.status", ""), (runbook.id, section.heading)
            assert "\n##\n" not in f"\n{section.text}\n", (runbook.id, section.heading)


def test_html_is_reduced_to_text_outside_code() -> None:
    text = to_text(
        "Intro<br>next line &amp; more\n"
        "<details>\n<summary>Why it fires</summary>\n\nBecause <b>reasons</b>.\n</details>\n"
        "Replace <directory> and <source-pvc> with yours; `<b>kept</b>` in code.\n"
        "<!-- a note\nover two lines -->\n"
        'See {{< ref "./Other.md" >}} for more.\n'
        "```html\n<details><summary>code</summary></details>\n```\n"
    )
    assert text == (
        "Intro\nnext line & more\n\nWhy it fires\n\nBecause reasons.\n\n"
        "Replace <directory> and <source-pvc> with yours; `<b>kept</b>` in code.\n\n"
        "See  for more.\n```html\n<details><summary>code</summary></details>\n```"
    )


def test_sections_follow_the_headings_a_file_has() -> None:
    title, sections = split_sections("# Title\n\nintro\n\n### First\none\n\n### Second\ntwo\n")
    assert title == "Title" and [(s.heading, s.text) for s in sections] == [
        ("Overview", "intro"),
        ("First", "one"),
        ("Second", "two"),
    ]
    title, sections = split_sections("Setext title\n============\n\nSub\n---\ntext\n")
    assert title == "Setext title" and [(s.heading, s.text) for s in sections] == [("Sub", "text")]
    title, sections = split_sections("# One\nfirst\n# Two\nsecond\n")  # several H1s: each is a section
    assert title is None and [s.heading for s in sections] == ["One", "Two"]


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("kubernetes/KubePodCrashLooping.md", "kubernetes-kube-pod-crash-looping"),
        ("node/NodeRAIDDegraded.md", "node-node-raid-degraded"),
        ("CPUThrottlingHigh.md", "cpu-throttling-high"),
        ("etcd/etcdHighFsyncDurations.md", "etcd-etcd-high-fsync-durations"),
        ("On Call/Disk full (prod).markdown", "on-call-disk-full-prod"),
        ("debug-cluster/_index.md", "debug-cluster"),  # a Hugo section page: its folder's path
        ("_index.md", "index"),
        ("a/" * 60 + "x.md", None),
    ],
)
def test_ids_come_from_paths(relative: str, expected: str | None) -> None:
    runbook_id = path_id(PurePosixPath(relative))
    if expected is not None:
        assert runbook_id == expected
    assert len(runbook_id) <= 128 and runbook_id == runbook_id.lower()


def write(folder: Path, name: str, text: str | bytes) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def team_folder(tmp_path: Path) -> Path:
    """A team's folder as it is: no front matter, Hugo TOML, Obsidian, `###` sections, a subfolder, bad files."""
    folder = tmp_path / "team"
    write(folder, "disk-full.md", "# Disk full\n\nThe volume is full.\n\n## Fix\nDelete old logs.\n")
    write(folder, "certs.md", "---\ntitle: Server certificates\nowner: security\n---\n### Renew\nRun certbot.\n")
    write(
        folder,
        "hugo/queue.md",
        '+++\ntitle = "Queue backlog"\ntags = ["kafka", "lag"]\nlastmod = 2025-03-04\n+++\n## Meaning\nLag.\n',
    )
    write(
        folder,
        "notes/obsidian.md",
        "---\naliases: [DNS down, NXDOMAIN storm]\ntags: dns\n---\nResolution fails for every service.\n",
    )
    write(folder, "README.md", "# Our runbooks\n")
    write(folder, "bad-yaml.md", "---\ntitle: [unclosed\n---\n## A\nb\n")
    write(folder, "only-front-matter.md", "---\ntitle: Empty\n---\n")
    write(folder, "latin1.md", "## Caf\xe9\nd\xe9j\xe0 vu".encode("latin-1"))
    write(folder, "copy/disk-full.md", "---\nid: disk-full\n---\n## Again\nThe same id.\n")
    write(folder, ".hidden/secret.md", "## Not read\n")
    write(folder, "notes.txt", "not Markdown")
    write(folder, "diagram.png", b"\x89PNG\r\n")  # neither a runbook nor a document: not listed
    write(folder, "alert-rules.yaml", "groups: []\n")
    write(folder, "_sidebar.md", "* [Disk full](disk-full.md)\n")  # docsify's navigation: not a runbook
    write(folder, "hugo/_index.md", "+++\ntitle = 'Hugo pages'\n+++\n")  # a section index, nothing of its own
    return folder


def test_a_team_folder_is_read_as_it_is_and_bad_files_are_reported(team_folder: Path) -> None:
    loaded = load_folders([team_folder])
    ids = {r.id: r for r in loaded.runbooks}
    assert sorted(ids) == ["certs", "disk-full", "hugo-queue", "notes-obsidian"]
    assert ids["disk-full"].title == "Disk full" and [s.heading for s in ids["disk-full"].sections] == [
        "Overview",
        "Fix",
    ]
    assert (ids["certs"].title, ids["certs"].team, ids["certs"].sections[0].heading) == (
        "Server certificates",
        "security",
        "Renew",
    )
    queue = ids["hugo-queue"]
    assert (queue.title, queue.tags, queue.last_reviewed) == ("Queue backlog", ("kafka", "lag"), "2025-03-04")
    obsidian = ids["notes-obsidian"]
    assert obsidian.title == "obsidian" and obsidian.aliases == ("DNS down", "NXDOMAIN storm")
    assert obsidian.tags == ("dns",) and obsidian.sections[0].text == "Resolution fails for every service."
    skipped = {s.path: s.reason for s in loaded.skipped}
    assert set(skipped) == {"bad-yaml.md", "only-front-matter.md", "latin1.md", "copy/disk-full.md"}
    assert skipped["bad-yaml.md"].startswith("the front matter is not valid YAML")
    assert skipped["only-front-matter.md"] == "no text besides front matter and headings"
    assert skipped["latin1.md"] == "not UTF-8 text"
    assert skipped["copy/disk-full.md"] == "id 'disk-full' is already used by disk-full.md"
    assert [str(i) for i in loaded.ignored] == [
        "README.md: a repository file, not a runbook",
        "_sidebar.md: a section index, not a runbook",
        "notes.txt: plain text, not Markdown: kb-mcp reads .md and .markdown (pandoc -t gfm converts it)",
        "hugo/_index.md: a section index, not a runbook",
    ]  # a document in another markup is listed, an image or a YAML file is not


def test_a_folder_of_documents_in_other_markups_says_they_were_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "wiki-export"
    write(folder, "disk-full.adoc", "= Disk full\n\n== Symptoms\n\nNode disk pressure.\n")
    write(folder, "db/failover.rst", "DB failover\n===========\n\nPromote the replica.\n")
    with pytest.raises(CorpusError) as refused:
        load_folders([folder])
    assert str(refused.value) == (
        f"no runbooks (Markdown files with text) in {folder}; not read: "
        "disk-full.adoc: AsciiDoc, not Markdown: kb-mcp reads .md and .markdown (pandoc -t gfm converts it); "
        "db/failover.rst: reStructuredText, not Markdown: kb-mcp reads .md and .markdown (pandoc -t gfm converts it)"
    )


def test_strict_refuses_a_folder_with_bad_files_and_nothing_readable_is_an_error(
    team_folder: Path, tmp_path: Path
) -> None:
    with pytest.raises(CorpusError, match=r"4 file\(s\) in .* could not be read \(--strict\): bad-yaml\.md: "):
        load_folders([team_folder], strict=True)
    empty = tmp_path / "empty"
    write(empty, "README.md", "# nothing here\n")
    write(empty, "broken.md", "---\n: : :\n---\n")
    with pytest.raises(CorpusError, match=r"no runbooks .* in .*empty; skipped: broken\.md: the front matter"):
        load_folders([empty])
    with pytest.raises(CorpusError, match="does not exist"):
        load_folders([tmp_path / "missing"])


def test_several_folders_are_read_together(runbooks_dir: Path, team_folder: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    write(other, "pods.md", "---\nid: pod-crash\ntitle: Our pod crash notes\n---\n## Notes\nText.\n")
    loaded = load_folders([runbooks_dir, team_folder, other])
    assert {"pod-crash", "certs", "hugo-queue"} <= {r.id for r in loaded.runbooks}
    skipped = {s.path: s.reason for s in loaded.skipped}
    assert skipped["other/pods.md"] == "id 'pod-crash' is already used by pod-crash.md", "the first folder wins"
    assert "team/bad-yaml.md" in skipped, "paths are shown with their folder when there are several"
