#pragma once
#include <string>

namespace imgclf {
namespace cuda {
int device_count(std::string* why);
bool probe(int device, std::string* why);
std::string device_name(int device);
}  // namespace cuda
}  // namespace imgclf
