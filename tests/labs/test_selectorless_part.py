"""Lab 3 part 6, a Service without a selector and a hand-written EndpointSlice. The generic
tests grade its reference and wrong answers; these pin what is particular to it: only this
part admits a slice, `${<POD>_IP}` stands for a pod's IP at grading time (so an answer
written while exploring still holds on a fresh cluster), and an address copied from an
earlier namespace is refused with the reason rather than pointing nowhere."""
from __future__ import annotations

from grader.cluster.offline import OfflineCluster
from grader.labs import get_lab
from grader.labs.lab3_selectorless import REFERENCE
from grader.labs.pod_ips import substitute, variable_for
from grader.labs.spec import grade_part, prepare
from grader.observations import PodRef

LAB3 = get_lab("lab3-discovery")
PART6 = LAB3.part("part6")


def graded(part_id: str, answer: str):  # type: ignore[no-untyped-def]
    return grade_part(LAB3, LAB3.part(part_id), answer, OfflineCluster(say=lambda _: None), include_hidden=True)


def test_a_pod_ip_variable_is_the_pods_name_in_capitals() -> None:
    pods = [PodRef("lab3", "inventory-a", "10.244.0.7"), PodRef("lab3", "web.v2", "10.244.0.8"),
            PodRef("lab3", "pending", "")]
    assert variable_for("inventory-a") == "INVENTORY_A_IP"
    text, problem = substitute('addresses: ["${INVENTORY_A_IP}", "${WEB_V2_IP}"]  # $HOME stays', pods)
    assert problem is None and text == 'addresses: ["10.244.0.7", "10.244.0.8"]  # $HOME stays'
    text, problem = substitute('addresses: ["${INVENTORY_C_IP}", "${PENDING_IP}"]', pods)
    assert problem == ("your answer uses ${INVENTORY_C_IP}, ${PENDING_IP}: no pod of this namespace goes by "
                       "that variable; the variables are ${INVENTORY_A_IP}, ${WEB_V2_IP} (a pod's name in "
                       "capitals, - as _, then _IP)")


def test_only_part6_admits_a_hand_written_slice() -> None:
    assert [p.id for p in LAB3.parts if p.endpoint_slices] == ["part6"]
    assert prepare(LAB3, PART6, OfflineCluster(say=lambda _: None)).admits_endpoint_slices
    elsewhere = prepare(LAB3, LAB3.part("part2"), OfflineCluster(say=lambda _: None))
    assert not elsewhere.admits_endpoint_slices
    # the part's own pods are there too: only the opt-in differs
    report = graded("part2", LAB3.part("part2").reference + "---\n" + REFERENCE.replace(
        "${INVENTORY_A_IP}", "10.244.0.2").replace("${INVENTORY_B_IP}", "10.244.0.3"))
    assert report.not_gradable and "an EndpointSlice may not be created in a lab" in report.not_gradable


def test_the_reference_holds_on_a_fresh_cluster_and_a_copied_address_is_refused_with_the_pods_named() -> None:
    assert sum(r.earned for r in graded("part6", REFERENCE).results) == PART6.points
    report = graded("part6", REFERENCE.replace("${INVENTORY_B_IP}", "10.244.3.3"))
    assert report.not_gradable is not None
    assert ("your answer, document 2 (EndpointSlice/inventory-manual): endpoints[1].addresses[0]: "
            "'10.244.3.3' is not the IP of a pod in namespace lab3") in report.not_gradable
    assert "inventory-b " in report.not_gradable and "CVE-2021-25740" in report.not_gradable
    assert sum(r.earned for r in report.results) == 0


def test_an_unknown_variable_makes_the_part_not_gradable_with_the_variables_listed() -> None:
    report = graded("part6", REFERENCE.replace("${INVENTORY_B_IP}", "${INVENTORY_2_IP}"))
    assert report.not_gradable is not None
    assert report.not_gradable.startswith("your answer uses ${INVENTORY_2_IP}: no pod of this namespace")
    assert "${INVENTORY_B_IP}" in report.not_gradable and "${INVENTORY_OLD_IP}" in report.not_gradable
