// A stand-in for Traefik's dynamic-configuration extension module: Traefik's go.mod points
// it at a folder of its own repository (a local replace, so the module proxy cannot serve
// it). The open-source build only embeds these two empty types.
module github.com/traefik/traefik/dynamic/ext

go 1.26.0
