{{/* The route table generated from config/routes.py by deploy/render.py. */}}
{{- define "shop.routes" -}}
{{- .Files.Get "routes.yaml" | fromYaml | toYaml -}}
{{- end -}}

{{/* Components this release runs: [{name, apps}], one per app in split mode. */}}
{{- define "shop.components" -}}
{{- $routes := include "shop.routes" . | fromYaml -}}
{{- if eq .Values.mode "split" -}}
{{- range $routes.apps }}
- name: {{ .name }}
  apps: [{{ .name }}]
  prefixes: {{ .prefixes | toJson }}
  grpcCallers: {{ .grpcCallers | toJson }}
{{- end }}
{{- else if eq .Values.mode "monolith" -}}
- name: monolith
  apps: [{{ range $i, $app := $routes.apps }}{{ if $i }}, {{ end }}{{ $app.name }}{{ end }}]
  prefixes: {{ $routes.monolith.prefixes | toJson }}
  grpcCallers: []
{{- else -}}
{{- fail "mode must be monolith or split" -}}
{{- end -}}
{{- end -}}

{{- define "shop.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shop.host" -}}
{{- printf "%s-%s.%s.svc.cluster.local" .root.Release.Name .name .root.Release.Namespace -}}
{{- end -}}

{{- define "shop.principal" -}}
{{- printf "cluster.local/ns/%s/sa/%s-%s" .root.Release.Namespace .root.Release.Name .name -}}
{{- end -}}

{{/* Labels; call with (dict "root" $ "name" <component> "role" <web|worker|beat|migrate>). */}}
{{- define "shop.selectorLabels" -}}
app.kubernetes.io/name: shop
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
shop/service: {{ .name }}
{{- end -}}

{{/* `.tag` (a canary's image tag) defaults to image.tag. */}}
{{- define "shop.labels" -}}
{{ include "shop.selectorLabels" . }}
app.kubernetes.io/version: {{ .tag | default .root.Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
app: {{ include "shop.fullname" . }}
version: {{ .tag | default .root.Values.image.tag | quote }}
{{- end -}}

{{/* The web Deployments of a component: [{track, tag, name suffix, weight}], the canary second
when canary.<component> is set. */}}
{{- define "shop.tracks" -}}
{{- $canary := index .root.Values.canary .name -}}
- {track: stable, tag: {{ .root.Values.image.tag | quote }}, suffix: "", weight: {{ sub 100 (dig "weight" 0 ($canary | default dict) | int) }}}
{{- with $canary }}
{{- if eq (toString .tag) (toString $.root.Values.image.tag) }}
{{- fail (printf "canary.%s.tag must differ from image.tag" $.name) }}
{{- end }}
- {track: canary, tag: {{ .tag | quote }}, suffix: "-canary", weight: {{ .weight | int }}, replicas: {{ .replicas | default 1 | int }}}
{{- end }}
{{- end -}}

{{/* A component's settings for one role: the defaults merged with overrides.<component>.<role>. */}}
{{- define "shop.settings" -}}
{{- $defaults := index .root.Values .role -}}
{{- $override := dig .name .role (dict) .root.Values.overrides -}}
{{- mergeOverwrite (deepCopy $defaults) $override | toYaml -}}
{{- end -}}

{{- define "shop.image" -}}
image: {{ printf "%s:%s" .root.Values.image.repository (.tag | default .root.Values.image.tag) | quote }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
{{- end -}}

{{/* Environment of every process of one component; call with (dict "root" $ "component" $c "role" <role>). */}}
{{- define "shop.env" -}}
{{- $root := .root -}}
{{- $component := .component -}}
{{- $routes := include "shop.routes" $root | fromYaml -}}
env:
  # Kubernetes reaches a pod at its IP (Services, kubelet probes, Prometheus, Istio >= 1.10
  # inbound): the gRPC server and the metrics exporters bind exactly that address.
  - name: POD_IP
    valueFrom:
      fieldRef: {fieldPath: status.podIP}
  - name: GRPC_ADDRESS
    value: "$(POD_IP)"
  - name: GRPC_PORT
    value: {{ $root.Values.ports.grpc | quote }}
  - name: METRICS_ADDRESS
    value: "$(POD_IP)"
  - name: METRICS_PORT
    value: {{ $root.Values.ports.metrics | quote }}
  - name: SERVICE_APPS
    value: {{ join "," $component.apps | quote }}
  - name: SERVICE_NAME
    value: {{ $component.name | quote }}
  - name: DJANGO_DEBUG
    value: "false"
  - name: DJANGO_ALLOWED_HOSTS
    value: {{ concat $root.Values.hosts (list "localhost" "127.0.0.1" (include "shop.fullname" (dict "root" $root "name" $component.name)) (include "shop.host" (dict "root" $root "name" $component.name))) | join "," | quote }}
  - name: CACHE_KEY_PREFIX
    value: {{ $component.name | quote }}
  - name: VAR_DIR
    value: /tmp/shop
  - name: OTEL_SERVICE_NAME
    value: {{ include "shop.fullname" (dict "root" $root "name" $component.name) | quote }}
  {{- range $routes.apps }}
  {{- if not (has .name $component.apps) }}
  - name: {{ printf "%s_GRPC_TARGET" (upper .name) }}
    value: {{ printf "%s:%d" (include "shop.host" (dict "root" $root "name" .name)) (int $root.Values.ports.grpc) | quote }}
  {{- end }}
  {{- end }}
  - name: TRUSTED_PROXY_COUNT
    value: {{ $root.Values.trustedProxyCount | quote }}
  # Topics this release creates (manage.py create_topics) and checks against the broker.
  - name: KAFKA_REPLICATION_FACTOR
    value: {{ $root.Values.kafka.replicationFactor | quote }}
  - name: KAFKA_MIN_INSYNC_REPLICAS
    value: {{ $root.Values.kafka.minInsyncReplicas | quote }}
  - name: KAFKA_PARTITIONS
    value: {{ $root.Values.kafka.partitions | quote }}
  {{- with include "shop.multiprocess" . }}
  - name: PROMETHEUS_MULTIPROC_DIR
    value: {{ . }}
  {{- end }}
  {{- with $root.Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
envFrom:
  - secretRef:
      name: {{ $root.Values.existingSecrets.shared }}
  - secretRef:
      name: {{ printf $root.Values.existingSecrets.componentPattern $component.name }}
{{- end -}}

{{/* Pod-level fields shared by every workload of a component. */}}
{{- define "shop.podSpec" -}}
serviceAccountName: {{ include "shop.fullname" (dict "root" .root "name" .name) }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
  {{- if include "shop.multiprocess" . }}
  - name: prometheus
    emptyDir: {medium: Memory, sizeLimit: 64Mi}
  {{- end }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "shop.selectorLabels" . | nindent 8 }}
{{- end -}}

{{- define "shop.containerCommon" -}}
{{ include "shop.image" . }}
securityContext:
  {{- toYaml .root.Values.containerSecurityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- if include "shop.multiprocess" . }}
  - name: prometheus
    mountPath: {{ include "shop.multiprocess" . }}
  {{- end }}
{{ include "shop.env" . }}
{{- end -}}

{{/* Celery's prefork children write their samples to files in this directory and the worker's
exporter adds them up (prometheus_client's multiprocess mode), as gunicorn's workers do with the
directory config/gunicorn.py makes. Empty for the roles that need none. */}}
{{- define "shop.multiprocess" -}}
{{- if has .role (list "worker" "beat") }}/run/prometheus{{ end -}}
{{- end -}}


{{/* The destinations of a route to a component: its Service, or with a canary its two subsets by
weight. Call with (dict "root" $ "name" <component> ["port" <number>]). */}}
{{- define "shop.weightedRoute" -}}
{{- $canary := index .root.Values.canary .name -}}
{{- range $track := include "shop.tracks" . | fromYamlArray }}
- destination:
    host: {{ include "shop.host" $ }}
    {{- with $.port }}
    port: {number: {{ . }}}
    {{- end }}
    {{- if $canary }}
    subset: {{ $track.track }}
  weight: {{ $track.weight }}
    {{- end }}
{{- end }}
{{- end -}}
