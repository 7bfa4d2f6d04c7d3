kubectl create ingress preview \
  --rule="preview.example/*=api-v2:80" \
  --rule="preview.example/v1*=api-v1:80"
