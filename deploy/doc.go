// Package deploy holds no code: its tests check the Kubernetes manifests in
// deploy/kubernetes and the Helm chart in deploy/helm/tributary.
//
// Every manifest, and every object `helm template` renders from the chart's
// default values and from the values files in deploy/helm/tributary/ci, is
// decoded into the Kubernetes API types (k8s.io/api) with unknown and
// duplicate fields rejected; the Prometheus Operator's ServiceMonitor, a
// custom resource, into a local struct that holds its documented fields.
// The objects are then checked against each other: selectors match the
// pods, volumes and keys exist, every ${env:...} and ${file:...} reference
// of the worker properties resolves to an environment variable or a mounted
// Secret key, the shutdown bounds fit in terminationGracePeriodSeconds. The
// chart's default rendering must be the plain manifests, object for object.
//
// The Helm tests need the helm CLI on PATH or in $(go env GOPATH)/bin:
//
//	GOBIN=$(go env GOPATH)/bin go install helm.sh/helm/v3/cmd/helm@v3.22.0
//
// Without it they skip, unless TRIBUTARY_REQUIRE_HELM=1 (CI) makes them fail.
package deploy
