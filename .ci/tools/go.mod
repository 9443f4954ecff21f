module github.com/jagad/jagad/ci-tools

go 1.26.8

require github.com/versity/versitygw v1.8.0 // indirect
