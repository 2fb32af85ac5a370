#!/bin/sh
echo "hello from tools $(cat /opt/tools/VERSION)"
