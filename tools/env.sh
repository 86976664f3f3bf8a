# Sourced by the project's scripts: data locations for this project's machines, where not set.
if [ -z "${EAD_CIFAR10:-}" ] && [ -f ../shared/data/cifar10-jpeg.tar.gz ]; then
  export EAD_CIFAR10="$(cd ../shared/data && pwd)/cifar10-jpeg.tar.gz"
fi
export MPLBACKEND=${MPLBACKEND:-Agg}
