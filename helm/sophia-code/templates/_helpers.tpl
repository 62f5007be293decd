{{/* Chart name, 63 characters at most. */}}
{{- define "sophia-code.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: <release>-<chart>, or the release name when it already contains the chart name. */}}
{{- define "sophia-code.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's resources: <fullname>-<component>. Call with (dict "root" $ "component" "api"). */}}
{{- define "sophia-code.componentName" -}}
{{- printf "%s-%s" (include "sophia-code.fullname" .root | trunc 50 | trimSuffix "-") .component }}
{{- end }}

{{/* Labels every object carries. Call with (dict "root" $ "component" "api"). */}}
{{- define "sophia-code.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sophia-code.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: sophia-code
{{- end }}

{{/* Selector labels: stable across upgrades, so no version. Call with (dict "root" $ "component" "api"). */}}
{{- define "sophia-code.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sophia-code.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The image reference: digest when given, else the tag (default: appVersion). */}}
{{- define "sophia-code.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Name of the Secret the pods read. */}}
{{- define "sophia-code.secretName" -}}
{{- default (include "sophia-code.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Whether the pods read a Secret at all. */}}
{{- define "sophia-code.hasSecret" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.create }}true{{ end }}
{{- end }}

{{/* Name of the data volume's claim. */}}
{{- define "sophia-code.claimName" -}}
{{- default (printf "%s-data" (include "sophia-code.fullname" .)) .Values.persistence.existingClaim }}
{{- end }}

{{/* Entry point of each pool under dist/workers/. */}}
{{- define "sophia-code.poolEntrypoint" -}}
{{- $scripts := dict "workflows" "workflow-worker.js" "llm" "llm-worker.js" "sandbox" "sandbox-worker.js" "memory" "memory-worker.js" }}
{{- printf "dist/workers/%s" (get $scripts .) }}
{{- end }}

{{/* The concurrency variable of each pool. */}}
{{- define "sophia-code.poolConcurrencyEnv" -}}
{{- $vars := dict "workflows" "WORKER_WORKFLOW_CONCURRENCY" "llm" "WORKER_LLM_CONCURRENCY" "sandbox" "WORKER_SANDBOX_CONCURRENCY" "memory" "WORKER_MEMORY_CONCURRENCY" }}
{{- get $vars . }}
{{- end }}

{{/*
Pod annotations that roll the pods when their configuration changes: the ConfigMap, and the Secret
when the chart creates it (an existing Secret is the operator's to roll).
*/}}
{{- define "sophia-code.configChecksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if .Values.secrets.create }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Secrets of one component (dict "root" $ "component" "api"|"workflows"|"llm"|"sandbox"|"memory"): the keys of
secrets.keys that secrets.byComponent grants it, via secretKeyRef only, each optional. The memory pool
also gets OPENAI_API_KEY when it embeds through the model (config.EMBEDDINGS_PROVIDER=openai).
*/}}
{{- define "sophia-code.secretEnv" -}}
{{- $root := .root }}
{{- if include "sophia-code.hasSecret" $root }}
{{- $granted := get $root.Values.secrets.byComponent .component | default list }}
{{- if and (eq .component "memory") (eq (toString (get $root.Values.config "EMBEDDINGS_PROVIDER")) "openai") }}
{{- $granted = append $granted "OPENAI_API_KEY" }}
{{- end }}
{{- range $root.Values.secrets.keys }}
{{- /* With memory on Qdrant its address and key reach only the pods that use them (qdrantEnv). */}}
{{- if and (has . $granted) (not (and (eq $root.Values.memory.store "qdrant") (has . (list "QDRANT_URL" "QDRANT_API_KEY")))) }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ include "sophia-code.secretName" $root }}
      key: {{ . }}
      optional: true
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The Qdrant address and key, for the memory pool and the API, when memory is on Qdrant. */}}
{{- define "sophia-code.qdrantEnv" -}}
{{- if eq .Values.memory.store "qdrant" }}
{{- $secret := default (include "sophia-code.secretName" .) .Values.memory.qdrant.existingSecret }}
- name: QDRANT_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.memory.qdrant.urlKey }}
- name: QDRANT_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ .Values.memory.qdrant.apiKeyKey }}
      optional: true
{{- end }}
{{- end }}

{{/* Volumes every pod mounts: the shared data volume and a writable /tmp (the root filesystem is read-only). */}}
{{- define "sophia-code.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "sophia-code.claimName" . }}
- name: tmp
  emptyDir:
    sizeLimit: 2Gi
{{- end }}

{{- define "sophia-code.volumeMounts" -}}
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end }}

{{/*
Renders nothing, or fails with a message saying what to change, for combinations of values that
would deploy something broken.
*/}}
{{- define "sophia-code.validate" -}}
{{- if not .Values.persistence.enabled }}
{{- fail "persistence.enabled=false would give every pod its own SOPHIA_DATA_DIR, but the pools share the artifact store: keep persistence on with a ReadWriteMany storage class, or set persistence.existingClaim." }}
{{- end }}
{{- if and .Values.secrets.existingSecret .Values.secrets.create }}
{{- fail "Set either secrets.existingSecret (a Secret you manage) or secrets.create=true (the chart makes one from secrets.values), not both." }}
{{- end }}
{{- if and .Values.secrets.values (not .Values.secrets.create) }}
{{- fail "secrets.values is only used with secrets.create=true; set it, or put the keys in your secrets.existingSecret." }}
{{- end }}
{{- range .Values.secrets.keys }}
{{- if hasKey $.Values.config . }}
{{- fail (printf "config.%s is a secret: remove it from config and put it in the Secret (secrets.existingSecret, or secrets.values with secrets.create=true)." .) }}
{{- end }}
{{- end }}
{{- if and .Values.secrets.create (not (or .Values.secrets.values.API_KEYS .Values.secrets.values.API_TOKEN .Values.config.API_OIDC_JWKS_URL .Values.config.API_KEYS_FILE)) }}
{{- fail "The API serves the cluster and refuses to start without keys: put API_KEYS (tenant:key pairs) in secrets.values, or set config.API_KEYS_FILE or config.API_OIDC_JWKS_URL." }}
{{- end }}
{{- if not .Values.temporal.address }}
{{- fail "temporal.address is required: the host:port of your Temporal frontend (the chart does not run Temporal)." }}
{{- end }}
{{- $isolation := .Values.pools.sandbox.isolation }}
{{- if not (has $isolation (list "userns" "privileged" "runtimeClass")) }}
{{- fail (printf "pools.sandbox.isolation must be userns, privileged or runtimeClass (got %q); see the README's Helm section." $isolation) }}
{{- end }}
{{- if and (eq $isolation "runtimeClass") (not .Values.pools.sandbox.runtimeClassName) }}
{{- fail "pools.sandbox.isolation=runtimeClass runs generated code without bubblewrap: set pools.sandbox.runtimeClassName to a sandboxing RuntimeClass (gVisor, Kata)." }}
{{- end }}
{{- $profile := .Values.pools.sandbox.seccompProfile | default dict }}
{{- if and (eq $isolation "userns") (eq (toString $profile.type) "Localhost") (not $profile.localhostProfile) }}
{{- fail "pools.sandbox.seccompProfile.type=Localhost needs localhostProfile: the path of files/sandbox-seccomp.json installed under each node's /var/lib/kubelet/seccomp/." }}
{{- end }}
{{- if and (eq $isolation "userns") (not (has (toString $profile.type) (list "Localhost" "Unconfined"))) }}
{{- fail "pools.sandbox.seccompProfile.type must be Localhost (the chart's profile, installed on the nodes) or Unconfined: the runtime's default profile forbids the mount(2) bwrap needs." }}
{{- end }}
{{- if not (has .Values.memory.store (list "embedded" "qdrant")) }}
{{- fail (printf "memory.store must be embedded or qdrant (got %q)." .Values.memory.store) }}
{{- end }}
{{- range $key := list "MEMORY_STORE" "QDRANT_URL" }}
{{- if hasKey $.Values.config $key }}
{{- fail (printf "config.%s is set by the chart: use memory.store, and put the Qdrant address in the Secret memory.qdrant.existingSecret names." $key) }}
{{- end }}
{{- end }}
{{- if and (eq .Values.memory.store "qdrant") (not .Values.memory.qdrant.existingSecret) (not (include "sophia-code.hasSecret" .)) }}
{{- fail "memory.store=qdrant reads the Qdrant address (and key) from a Secret: set memory.qdrant.existingSecret, or put QDRANT_URL in the Secret of secrets.existingSecret." }}
{{- end }}
{{- $memory := .Values.pools.memory }}
{{- $memoryMax := ternary $memory.autoscaling.maxReplicas $memory.replicas $memory.autoscaling.enabled }}
{{- if and $memory.enabled (gt (int $memoryMax) 1) (ne .Values.memory.store "qdrant") }}
{{- fail "The memory pool may run more than one replica only with memory.store=qdrant (the address and key in a Secret): the embedded store is one process's files." }}
{{- end }}
{{- range $pool, $spec := .Values.pools }}
{{- if not (has $pool (list "workflows" "llm" "sandbox" "memory")) }}
{{- fail (printf "pools.%s is not a pool of Sophia Code: the pools are workflows, llm, sandbox and memory." $pool) }}
{{- end }}
{{- if and $spec.enabled (ge (int $.Values.workerShutdownGraceMs) (mul (int $spec.terminationGracePeriodSeconds) 1000)) }}
{{- fail (printf "pools.%s.terminationGracePeriodSeconds (%v s) must be longer than workerShutdownGraceMs (%v ms), or running activities are killed before they drain." $pool $spec.terminationGracePeriodSeconds $.Values.workerShutdownGraceMs) }}
{{- end }}
{{- if and $spec.enabled $spec.autoscaling.enabled (gt (int $spec.autoscaling.minReplicas) (int $spec.autoscaling.maxReplicas)) }}
{{- fail (printf "pools.%s.autoscaling.minReplicas is above maxReplicas." $pool) }}
{{- end }}
{{- end }}
{{- end }}

{{/* The labels the alerts and the dashboard select targets by: sophia_component, and sophia_pool for a pool. */}}
{{- define "sophia-code.targetLabels" -}}
relabelings:
  - targetLabel: sophia_component
    replacement: {{ .component }}
{{- if .pool }}
  - targetLabel: sophia_pool
    replacement: {{ .pool }}
{{- end }}
{{- end }}
