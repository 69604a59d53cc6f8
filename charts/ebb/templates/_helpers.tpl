{{/* Chart name. */}}
{{- define "ebb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every resource name. */}}
{{- define "ebb.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ebb.operator.fullname" -}}{{ include "ebb.fullname" . }}-operator{{- end -}}
{{- define "ebb.adapter.fullname" -}}{{ include "ebb.fullname" . }}-metrics-adapter{{- end -}}
{{- define "ebb.webhook.service" -}}{{ include "ebb.fullname" . }}-webhooks{{- end -}}
{{- define "ebb.certsSecret" -}}{{ include "ebb.fullname" . }}-certs{{- end -}}
{{- define "ebb.webhook.configuration" -}}{{ include "ebb.fullname" . }}-validation{{- end -}}
{{- define "ebb.adapter.tlsSecret" -}}
{{- if eq .Values.certificates.mode "operator" -}}
{{- include "ebb.certsSecret" . -}}
{{- else if eq .Values.certificates.mode "supplied" -}}
{{- required "certificates.supplied.metricsAdapterSecretName is required when certificates.mode=supplied" .Values.certificates.supplied.metricsAdapterSecretName -}}
{{- else -}}
{{- include "ebb.adapter.fullname" . }}-tls
{{- end -}}
{{- end -}}
{{- define "ebb.webhook.tlsSecret" -}}
{{- if eq .Values.certificates.mode "operator" -}}
{{- include "ebb.certsSecret" . -}}
{{- else if eq .Values.certificates.mode "supplied" -}}
{{- required "certificates.supplied.webhookSecretName is required when certificates.mode=supplied" .Values.certificates.supplied.webhookSecretName -}}
{{- else -}}
{{- include "ebb.webhook.service" . }}-tls
{{- end -}}
{{- end -}}

{{- define "ebb.operator.serviceAccountName" -}}
{{- default (include "ebb.operator.fullname" .) .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- define "ebb.adapter.serviceAccountName" -}}
{{- default (include "ebb.adapter.fullname" .) .Values.metricsAdapter.serviceAccount.name -}}
{{- end -}}

{{/* Common labels; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "ebb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ebb.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: ebb
{{- end -}}

{{- define "ebb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ebb.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* Image reference; call with (dict "ctx" $ "image" .Values.operator.image). */}}
{{- define "ebb.image" -}}
{{- $repo := .image.repository -}}
{{- if .image.registry }}{{ $repo = printf "%s/%s" .image.registry .image.repository }}{{ end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .ctx.Chart.AppVersion .image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Namespaces where Secrets may be read (unique, sorted): release ns + watch + extra. */}}
{{- define "ebb.secretNamespaces" -}}
{{- $ns := list .Release.Namespace -}}
{{- range .Values.watchNamespaces }}{{ $ns = append $ns . }}{{ end -}}
{{- range .Values.rbac.secrets.namespaces }}{{ $ns = append $ns . }}{{ end -}}
{{- $ns | uniq | sortAlpha | join "," -}}
{{- end -}}

{{/* DNS names a Service answers to, comma-separated (splitList "," to get the list).
     Call with (dict "ctx" $ "service" NAME). */}}
{{- define "ebb.dnsNames" -}}
{{- $ns := .ctx.Release.Namespace -}}
{{- list .service (printf "%s.%s" .service $ns) (printf "%s.%s.svc" .service $ns) (printf "%s.%s.svc.%s" .service $ns .ctx.Values.clusterDomain) | join "," -}}
{{- end -}}

{{- define "ebb.validateValues" -}}
{{- $modes := list "operator" "generate" "supplied" "certManager" -}}
{{- if eq .Values.certificates.mode "selfSigned" -}}
{{- fail "certificates.mode=selfSigned was removed (it skipped TLS verification of the metrics adapter): use operator, the default, which makes the certificates itself and has them verified" -}}
{{- end -}}
{{- if not (has .Values.certificates.mode $modes) -}}
{{- fail (printf "certificates.mode must be one of %s, not %q" (join ", " $modes) .Values.certificates.mode) -}}
{{- end -}}
{{- if not (has .Values.webhooks.failurePolicy (list "Ignore" "Fail")) -}}
{{- fail (printf "webhooks.failurePolicy must be Ignore or Fail, not %q" .Values.webhooks.failurePolicy) -}}
{{- end -}}
{{- if and (eq .Values.certificates.mode "supplied") (or .Values.apiService.enabled .Values.webhooks.enabled) -}}
{{- $_ := required "certificates.supplied.caBundle (base64 PEM of the CA) is required when certificates.mode=supplied" .Values.certificates.supplied.caBundle -}}
{{- end -}}
{{- end -}}

{{/* Pod-level securityContext for a component. */}}
{{- define "ebb.podSecurityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .ctx.Values.podSecurityContext) (deepCopy .component.podSecurityContext)) -}}
{{- end -}}
{{- define "ebb.securityContext" -}}
{{- toYaml (mergeOverwrite (deepCopy .ctx.Values.securityContext) (deepCopy .component.securityContext)) -}}
{{- end -}}

{{/* Topology spread constraints with the pod's selector labels filled in where missing. */}}
{{- define "ebb.topologySpread" -}}
{{- $out := list -}}
{{- range .constraints -}}
{{- $c := deepCopy . -}}
{{- if not (hasKey $c "labelSelector") -}}
{{- $_ := set $c "labelSelector" (dict "matchLabels" ($.selector | fromYaml)) -}}
{{- end -}}
{{- $out = append $out $c -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
