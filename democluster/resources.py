"""The API resources the demo cluster advertises: one registry drives discovery, routing and printing."""

from __future__ import annotations

from dataclasses import dataclass

RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ = ("get", "list")
CREATE = ("create",)
STATUS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """A subresource such as pods/log, with the kind it answers with."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Resource:
    """One REST resource as discovery describes it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = RW
    subresources: tuple[Subresource, ...] = ()
    singular: str = ""

    @property
    def group_version(self) -> str:
        """`v1` for the core group, else `group/version`."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular_name(self) -> str:
        """The singular resource name kubectl accepts (`pod` for `pods`)."""
        return self.singular or self.kind.lower()

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: objects are shared across versions of one group (autoscaling v1/v2)."""
        return (self.group, self.plural)


def _st(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS)


def _scale(kind: str) -> Subresource:
    return Subresource("scale", "Scale", STATUS, "autoscaling", "v1")


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool,
    short: str = "",
    cats: str = "",
    verbs: tuple[str, ...] = RW,
    subs: tuple[Subresource, ...] = (),
    singular: str = "",
) -> Resource:
    return Resource(
        group, version, plural, kind, namespaced,
        tuple(short.split()), tuple(cats.split()), verbs, subs, singular,
    )


_POD_SUBS = (
    Subresource("attach", "PodAttachOptions", ("create", "get")),
    Subresource("binding", "Binding", CREATE),
    Subresource("ephemeralcontainers", "Pod", STATUS),
    Subresource("eviction", "Eviction", CREATE, "policy", "v1"),
    Subresource("exec", "PodExecOptions", ("create", "get")),
    Subresource("log", "Pod", ("get",)),
    Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
    Subresource("proxy", "PodProxyOptions", ("create", "delete", "get", "patch", "update")),
    _st("Pod"),
)

# Group order follows a real kube-apiserver's /apis answer; resources are sorted within a version.
REGISTRY: tuple[Resource, ...] = (
    _r("", "v1", "bindings", "Binding", True, verbs=CREATE),
    _r("", "v1", "componentstatuses", "ComponentStatus", False, "cs", verbs=READ),
    _r("", "v1", "configmaps", "ConfigMap", True, "cm"),
    _r("", "v1", "endpoints", "Endpoints", True, "ep", singular="endpoints"),
    _r("", "v1", "events", "Event", True, "ev"),
    _r("", "v1", "limitranges", "LimitRange", True, "limits"),
    _r("", "v1", "namespaces", "Namespace", False, "ns",
       verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
       subs=(Subresource("finalize", "Namespace", ("update",)), _st("Namespace"))),
    _r("", "v1", "nodes", "Node", False, "no",
       subs=(Subresource("proxy", "NodeProxyOptions", ("create", "delete", "get", "patch", "update")),
             _st("Node"))),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, "pvc",
       subs=(_st("PersistentVolumeClaim"),)),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, "pv", subs=(_st("PersistentVolume"),)),
    _r("", "v1", "pods", "Pod", True, "po", "all", subs=_POD_SUBS),
    _r("", "v1", "podtemplates", "PodTemplate", True),
    _r("", "v1", "replicationcontrollers", "ReplicationController", True, "rc", "all",
       subs=(_scale("ReplicationController"), _st("ReplicationController"))),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, "quota", subs=(_st("ResourceQuota"),)),
    _r("", "v1", "secrets", "Secret", True),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, "sa",
       subs=(Subresource("token", "TokenRequest", CREATE, "authentication.k8s.io", "v1"),)),
    _r("", "v1", "services", "Service", True, "svc", "all",
       subs=(Subresource("proxy", "ServiceProxyOptions", ("create", "delete", "get", "patch", "update")),
             _st("Service"))),
    _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, cats="api-extensions",
       subs=(_st("APIService"),)),
    _r("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, "ds", "all", subs=(_st("DaemonSet"),)),
    _r("apps", "v1", "deployments", "Deployment", True, "deploy", "all",
       subs=(_scale("Deployment"), _st("Deployment"))),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, "rs", "all",
       subs=(_scale("ReplicaSet"), _st("ReplicaSet"))),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, "sts", "all",
       subs=(_scale("StatefulSet"), _st("StatefulSet"))),
    _r("events.k8s.io", "v1", "events", "Event", True, "ev"),
    _r("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False, verbs=CREATE),
    _r("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=CREATE),
    _r("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True,
       verbs=CREATE),
    _r("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
       verbs=CREATE),
    _r("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
       verbs=CREATE),
    _r("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False, verbs=CREATE),
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", "all",
       subs=(_st("HorizontalPodAutoscaler"),)),
    _r("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, "hpa", "all",
       subs=(_st("HorizontalPodAutoscaler"),)),
    _r("batch", "v1", "cronjobs", "CronJob", True, "cj", "all", subs=(_st("CronJob"),)),
    _r("batch", "v1", "jobs", "Job", True, "", "all", subs=(_st("Job"),)),
    _r("certificates.k8s.io", "v1", "certificatesigningrequests", "CertificateSigningRequest", False,
       "csr", subs=(Subresource("approval", "CertificateSigningRequest", STATUS),
                    _st("CertificateSigningRequest"))),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, "ing", subs=(_st("Ingress"),)),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, "netpol"),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, "pdb",
       subs=(_st("PodDisruptionBudget"),)),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False),
    _r("storage.k8s.io", "v1", "csinodes", "CSINode", False),
    _r("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", True),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, "sc"),
    _r("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False,
       subs=(_st("VolumeAttachment"),)),
    _r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
       "MutatingWebhookConfiguration", False, cats="api-extensions"),
    _r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy",
       False, cats="api-extensions", subs=(_st("ValidatingAdmissionPolicy"),)),
    _r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
       "ValidatingAdmissionPolicyBinding", False, cats="api-extensions"),
    _r("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
       "ValidatingWebhookConfiguration", False, cats="api-extensions"),
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
       "crd crds", "api-extensions", subs=(_st("CustomResourceDefinition"),)),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, "pc"),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True),
    _r("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", False),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    _r("flowcontrol.apiserver.k8s.io", "v1", "flowschemas", "FlowSchema", False,
       subs=(_st("FlowSchema"),)),
    _r("flowcontrol.apiserver.k8s.io", "v1", "prioritylevelconfigurations",
       "PriorityLevelConfiguration", False, subs=(_st("PriorityLevelConfiguration"),)),
    _r("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=READ),
    _r("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=READ),
)


def group_versions() -> list[tuple[str, list[str]]]:
    """Groups in discovery order, each with its versions, preferred first."""
    out: list[tuple[str, list[str]]] = []
    for res in REGISTRY:
        if not out or out[-1][0] != res.group:
            if any(g == res.group for g, _ in out):
                raise ValueError(f"group {res.group!r} is split in REGISTRY")
            out.append((res.group, []))
        if res.version not in out[-1][1]:
            out[-1][1].append(res.version)
    return out


def find(group: str, version: str, plural: str) -> Resource | None:
    """The resource served at /apis/group/version/plural, if any."""
    for res in REGISTRY:
        if res.group == group and res.version == version and res.plural == plural:
            return res
    return None


def by_kind(kind: str, group: str = "") -> Resource | None:
    """The first (preferred) resource for a kind in a group."""
    for res in REGISTRY:
        if res.kind == kind and res.group == group:
            return res
    return None
